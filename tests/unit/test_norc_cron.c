//  Unit tests: cron parsing and next-fire search, DST, the original
//  encoding, and the catch-up planner. Table-driven.
#include <criterion/criterion.h>
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_mem.h"

static norc_us_t
s_t (const char *iso)
{
    norc_us_t t;
    cr_assert_eq (norc_time_parse (iso, &t), NORC_OK, "bad time %s", iso);
    return t;
}

//  Each row: expression, zone, start instant, then the expected fire times
//  in order (formatted in the zone, with its offset).
typedef struct {
    const char *expr;
    const char *tz;
    const char *from;
    const char *expect [4];
} s_case_t;

static const s_case_t s_cases [] = {
    //  The original's tests, corrected: months honoured (hotfix test_monthly)
    { "0 0 0 1 1,4,7,10 *", NULL, "2010-01-01T00:00:00Z",
      { "2010-04-01T00:00:00+00:00", "2010-07-01T00:00:00+00:00", "2010-10-01T00:00:00+00:00", "2011-01-01T00:00:00+00:00" } },
    { "0 0 0 1 1,4,7,10 *", NULL, "2010-06-01T00:00:00Z", { "2010-07-01T00:00:00+00:00" } },
    { "0 0 0 1 1,4,7,10 *", NULL, "2010-11-01T00:00:00Z", { "2011-01-01T00:00:00+00:00" } },
    { "0 0 0 1 4 *", NULL, "2010-01-01T00:00:00Z", { "2010-04-01T00:00:00+00:00" } },
    //  Lower fields reset when a higher one moves (the original gave 10:30:11)
    { "* 0,30 * * * *", NULL, "2010-01-01T10:10:10Z", { "2010-01-01T10:30:00+00:00", "2010-01-01T10:30:01+00:00" } },
    { "* * * 15 * *", NULL, "2010-01-10T10:10:10Z", { "2010-01-15T00:00:00+00:00", "2010-01-15T00:00:01+00:00" } },
    //  Strictly after, on whole seconds
    { "* * * * * *", NULL, "2026-05-01T12:00:00.5Z", { "2026-05-01T12:00:01+00:00", "2026-05-01T12:00:02+00:00" } },
    { "* * * * * *", NULL, "2026-05-01T12:00:00Z", { "2026-05-01T12:00:01+00:00" } },
    { "*/15 * * * *", NULL, "2026-05-01T12:07:00Z", { "2026-05-01T12:15:00+00:00", "2026-05-01T12:30:00+00:00" } },
    { "5-10/2 * * * * *", NULL, "2026-05-01T12:00:06Z", { "2026-05-01T12:00:07+00:00", "2026-05-01T12:00:09+00:00", "2026-05-01T12:01:05+00:00" } },
    { "0 9 * JAN-MAR MON-FRI", NULL, "2026-03-27T10:00:00Z", { "2026-03-30T09:00:00+00:00", "2026-03-31T09:00:00+00:00", "2027-01-01T09:00:00+00:00" } },
    { "0 0 * * 7", NULL, "2026-05-01T00:00:00Z", { "2026-05-03T00:00:00+00:00" } },
    //  A range with equal ends and a step is that one value, not start-to-maximum
    { "57-57/1 * * * *", NULL, "2026-05-01T12:00:00Z", { "2026-05-01T12:57:00+00:00", "2026-05-01T13:57:00+00:00" } },
    { "0 0 0 * * 6-6/1", NULL, "2026-05-01T00:00:00Z", { "2026-05-02T00:00:00+00:00", "2026-05-09T00:00:00+00:00" } },
    { "0 0 0 * * 5-5/2", NULL, "2026-05-01T00:00:00Z", { "2026-05-08T00:00:00+00:00", "2026-05-15T00:00:00+00:00" } },
    { "50/5 * * * *", NULL, "2026-05-01T12:00:00Z", { "2026-05-01T12:50:00+00:00", "2026-05-01T12:55:00+00:00", "2026-05-01T13:50:00+00:00" } },
    //  Year rollover
    { "0 0 0 1 1 *", NULL, "2026-12-31T23:59:59Z", { "2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00" } },
    { "59 59 23 31 12 *", NULL, "2026-12-31T23:59:59Z", { "2027-12-31T23:59:59+00:00" } },
    //  Leap years: 2100 is not one
    { "0 0 29 2 *", NULL, "2025-03-01T00:00:00Z", { "2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00" } },
    { "0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", { "2104-02-29T00:00:00+00:00" } },
    //  The 29th to 31st of short months
    { "0 0 31 * *", NULL, "2026-04-01T00:00:00Z", { "2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00", "2026-08-31T00:00:00+00:00", "2026-10-31T00:00:00+00:00" } },
    { "0 0 30 * *", NULL, "2026-01-31T00:00:00Z", { "2026-03-30T00:00:00+00:00" } },
    { "0 0 29 * *", NULL, "2027-01-30T00:00:00Z", { "2027-03-29T00:00:00+00:00" } },
    //  L, W, #
    { "0 0 0 L * *", NULL, "2026-02-10T00:00:00Z", { "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00" } },
    { "0 0 0 L-1 * *", NULL, "2028-02-10T00:00:00Z", { "2028-02-28T00:00:00+00:00" } },
    { "0 0 0 LW * *", NULL, "2026-05-01T00:00:00Z", { "2026-05-29T00:00:00+00:00" } },
    { "0 0 0 15W * *", NULL, "2026-08-01T00:00:00Z", { "2026-08-14T00:00:00+00:00" } },
    { "0 0 0 1W * *", NULL, "2026-07-31T00:00:00Z", { "2026-08-03T00:00:00+00:00" } },
    { "0 0 0 * * 1#2", NULL, "2026-06-01T00:00:00Z", { "2026-06-08T00:00:00+00:00", "2026-07-13T00:00:00+00:00" } },
    { "0 0 0 * * 5L", NULL, "2026-11-01T00:00:00Z", { "2026-11-27T00:00:00+00:00" } },
    //  Day of month OR day of week when both are restricted (Vixie)
    { "0 0 13 * FRI", NULL, "2026-01-01T00:00:00Z", { "2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00", "2026-01-13T00:00:00+00:00" } },
    //  Macros
    { "@hourly", NULL, "2026-05-01T12:00:00Z", { "2026-05-01T13:00:00+00:00" } },
    { "@weekly", NULL, "2026-05-01T12:00:00Z", { "2026-05-03T00:00:00+00:00" } },
    { "@yearly", NULL, "2026-05-01T12:00:00Z", { "2027-01-01T00:00:00+00:00" } },
    { "@every 1h30m", NULL, "2026-05-01T12:00:00.7Z", { "2026-05-01T13:30:00+00:00", "2026-05-01T15:00:00+00:00" } },
    //  New York: spring forward 2026-03-08 02:00 -> 03:00
    { "30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
      { "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00" } },
    { "0 * * * *", "America/New_York", "2026-03-08T00:30:00-05:00",
      { "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00" } },
    //  New York: fall back 2026-11-01 02:00 -> 01:00; the repeated hour runs once
    { "30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
      { "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00" } },
    { "*/30 * * * *", "America/New_York", "2026-11-01T00:45:00-04:00",
      { "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00" } },
    //  Started during the second pass of the repeated hour: no refire
    { "*/30 * * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
      { "2026-11-01T02:00:00-05:00" } },
    //  London
    { "30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z",
      { "2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00" } },
    { "30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z",
      { "2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00" } },
    //  Lord Howe: a 30-minute shift each way
    { "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
      { "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00" } },
    { "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
      { "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30" } },
    { "0 */1 * * *", "Australia/Lord_Howe", "2026-04-05T00:30:00+11:00",
      { "2026-04-05T01:00:00+11:00", "2026-04-05T02:00:00+10:30" } },
};

Test (norc_cron, next_fire_table)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++) {
        const s_case_t *c = &s_cases [i];
        char err [256] = "";
        norc_cron_t *cron = norc_cron_new (c->expr, c->tz, err, sizeof err);
        cr_assert_not_null (cron, "%s: %s", c->expr, err);
        norc_us_t t = s_t (c->from);
        for (int k = 0; k < 4 && c->expect [k]; k++) {
            norc_us_t next;
            cr_assert_eq (norc_cron_next (cron, t, &next), NORC_OK, "%s", c->expr);
            char buf [64];
            norc_tz_format (c->tz, next, buf, sizeof buf);
            cr_expect_str_eq (buf, c->expect [k], "case %zu \"%s\" in %s from %s, fire %d",
                              i, c->expr, c->tz ? c->tz : "UTC", c->from, k + 1);
            cr_assert_gt (next, t);
            t = next;
        }
        norc_cron_destroy (&cron);
        cr_expect_null (cron);
    }
}

//  Each row: expression, and a piece of the error text expected.
static const struct { const char *expr; const char *error; } s_errors [] = {
    { "61 * * * *", "minute field, column 1: \"61\": out of range 0-59" },
    { "* 24 * * *", "hour field, column 3: \"24\": out of range 0-23" },
    { "0 0 0 32 * *", "day of month field, column 7: \"32\": out of range 1-31" },
    { "0 0 * 13 *", "month field, column 7" },
    { "0 0 * * 8", "day of week field, column 9" },
    { "* * *", "3 fields: expected 5" },
    { "* * * * * * * *", "too many fields" },
    { "*/0 * * * *", "step must be a number of 1 or more" },
    { "5-1 * * * *", "range starts after it ends" },
    { "0 0 * FOO *", "expected a number or JAN-DEC" },
    { "0 0 * * FUNDAY", "expected a number or SUN-SAT" },
    { "1,,2 * * * *", "empty list item" },
    { "1x * * * *", "unexpected \"x\"" },
    { "? * * * *", "only allowed in the day fields" },
    { "0 0 L-40 * *", "L-N with N 0-30" },
    { "0 0 * * 1#6", "D#K with K 1-5" },
    { "0 0 30 2 *", "never matches a date" },
    { "0 0 31 4,6,9,11 *", "never matches a date" },
    { "@fortnightly", "unknown macro" },
    { "@every 0s", "1 second or more" },
    { "@every 5x", "unknown unit 'x'" },
    { "@every", "needs a duration" },
};

Test (norc_cron, parse_errors_say_what_and_where)
{
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors [0]; i++) {
        char err [256] = "";
        norc_cron_t *cron = norc_cron_new (s_errors [i].expr, NULL, err, sizeof err);
        cr_expect_null (cron, "\"%s\" parsed", s_errors [i].expr);
        cr_expect_not_null (strstr (err, s_errors [i].error),
                            "\"%s\": error \"%s\" lacks \"%s\"", s_errors [i].expr, err, s_errors [i].error);
        norc_cron_destroy (&cron);
    }
    char err [256];
    cr_expect_null (norc_cron_new ("* * * * *", "Mars/Olympus_Mons", err, sizeof err));
    cr_expect_not_null (strstr (err, "unknown time zone"));
    cr_expect_null (norc_cron_new ("* * * * *", "../../etc/passwd", err, sizeof err));
    cr_expect_null (norc_cron_new (NULL, NULL, err, sizeof err));
}

Test (norc_cron, time_zones)
{
    cr_expect (norc_tz_valid ("UTC"));
    cr_expect (norc_tz_valid (NULL));
    cr_expect (norc_tz_valid ("America/New_York"));
    cr_expect (!norc_tz_valid ("America/Nowhere"));
    cr_expect (!norc_tz_valid ("/etc/passwd"));
    cr_expect (!norc_tz_valid ("a b"));
    cr_expect_eq (norc_tz_offset ("Australia/Lord_Howe", s_t ("2026-07-01T00:00:00Z")), 37800);
    cr_expect_eq (norc_tz_offset ("America/New_York", s_t ("2026-07-01T00:00:00Z")), -4 * 3600);
    //  TZ of the process is restored after each call
    setenv ("TZ", "Asia/Tokyo", 1);
    norc_tz_offset ("America/New_York", 0);
    cr_expect_str_eq (getenv ("TZ"), "Asia/Tokyo");
    unsetenv ("TZ");
    norc_tz_offset ("America/New_York", 0);
    cr_expect_null (getenv ("TZ"));
}

Test (norc_cron, interval_expressions)
{
    char err [256];
    norc_cron_t *cron = norc_cron_new ("@every 90s", NULL, err, sizeof err);
    cr_assert_not_null (cron, "%s", err);
    norc_us_t every = 0;
    cr_expect (norc_cron_is_interval (cron, &every));
    cr_expect_eq (every, 90 * NORC_US_PER_SEC);
    norc_cron_destroy (&cron);
    cron = norc_cron_new ("* * * * *", NULL, err, sizeof err);
    cr_expect (!norc_cron_is_interval (cron, &every));
    norc_cron_destroy (&cron);
}

//  The original encoding (reference section 3.2 and its test_validate)
static const struct { const char *in; const char *out; } s_original [] = {
    { "o1d1w1h1m1s1", "1 1 1 1 1 2" },              //  w1 = Tuesday
    { "d1w1h1m1s1", "1 1 1 1 * 2" },
    { " d 1 , 2 s 1 ", "1 * * 1,2 * *" },
    { "o*d*w*h*m*s*", "* * * * * *" },
    { "o4d1h0m0s0", "0 0 0 1 4 *" },
    { "w6h12m0s0", "0 0 12 * * 0" },                 //  w6 = Sunday
    { "hours3minutes15seconds0", "0 15 3 * * *" },   //  long keys work (they did not)
    { "days5s0", "0 * * 5 * *" },
    { "0 9 * * MON-FRI", "0 9 * * MON-FRI" },        //  cron passes through
    { "  */5 * * * * *  ", "*/5 * * * * *" },
    { "@daily", "@daily" },
};

Test (norc_cron, original_encoding_is_translated)
{
    for (size_t i = 0; i < sizeof s_original / sizeof s_original [0]; i++) {
        char err [256] = "";
        char *out = norc_cron_normalize (s_original [i].in, NULL, 7, err, sizeof err);
        cr_assert_not_null (out, "\"%s\": %s", s_original [i].in, err);
        cr_expect_str_eq (out, s_original [i].out, "\"%s\"", s_original [i].in);
        free (out);
    }
    //  A missing second is drawn once from the seed, then fixed
    char err [256];
    char *a = norc_cron_normalize ("h3m0", NULL, 11, err, sizeof err);
    char *b = norc_cron_normalize ("h3m0", NULL, 11, err, sizeof err);
    cr_assert_not_null (a);
    cr_expect_str_eq (a, b);
    int sec = -1;
    cr_expect_eq (sscanf (a, "%d 0 3 * * *", &sec), 1, "%s", a);
    cr_expect (sec >= 0 && sec <= 59);
    free (a);
    free (b);
    //  Errors
    const char *bad [] = { "adf", "o1,13", "h25", "w7", "hour3hour4", "s", "" , "   " };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char *out = norc_cron_normalize (bad [i], NULL, 1, err, sizeof err);
        cr_expect_null (out, "\"%s\" was accepted as %s", bad [i], out);
        free (out);
    }
    //  Words that are not the original's keys get the cron grammar's error
    cr_expect_null (norc_cron_normalize ("not a cron", NULL, 1, err, sizeof err));
    cr_expect_not_null (strstr (err, "\"not\" is not a cron field"), "%s", err);
    cr_expect_null (strstr (err, "original encoding:"), "%s", err);
    cr_expect_null (norc_cron_normalize ("o2d30", NULL, 1, err, sizeof err));
    cr_expect_not_null (strstr (err, "never matches"));
}

Test (norc_cron, shorthands_fix_their_random_values_at_creation)
{
    const char *names [] = { "HALFHOURLY", "hourly", "DAILY", "WEEKLY", "MONTHLY" };
    for (size_t i = 0; i < 5; i++)
        for (uint32_t seed = 1; seed < 200; seed += 37) {
            char err [256];
            char *out = norc_cron_normalize (names [i], NULL, seed, err, sizeof err);
            cr_assert_not_null (out, "%s: %s", names [i], err);
            int s, m, m2, h, d, w;
            switch (i) {
                case 0:
                    cr_expect_eq (sscanf (out, "%d %d,%d * * * *", &s, &m, &m2), 3, "%s", out);
                    cr_expect (m >= 0 && m <= 29 && m2 == m + 30, "%s", out);
                    break;
                case 1:
                    cr_expect_eq (sscanf (out, "%d %d * * * *", &s, &m), 2, "%s", out);
                    break;
                case 2:
                    cr_expect_eq (sscanf (out, "%d %d %d * * *", &s, &m, &h), 3, "%s", out);
                    cr_expect (h >= 0 && h <= 23);
                    break;
                case 3:
                    cr_expect_eq (sscanf (out, "%d %d %d * * %d", &s, &m, &h, &w), 4, "%s", out);
                    cr_expect (w >= 0 && w <= 6);
                    break;
                case 4:
                    cr_expect_eq (sscanf (out, "%d %d %d %d * *", &s, &m, &h, &d), 4, "%s", out);
                    cr_expect (d >= 1 && d <= 28);
                    break;
            }
            cr_expect (s >= 0 && s <= 59);
            free (out);
        }
}

//  ------------------------------------------------------------------------
//  Period schedules and the catch-up planner

Test (norc_timing, period_ticks)
{
    norc_us_t start = s_t ("2026-05-01T12:00:00Z");
    norc_timing_t period = { NULL, start, 5 };
    norc_us_t next;
    cr_expect_eq (norc_timing_next (&period, start - 100 * NORC_US_PER_SEC, &next), NORC_OK);
    cr_expect_eq (next, start);
    norc_timing_next (&period, start, &next);
    cr_expect_eq (next, start + 5 * NORC_US_PER_SEC);
    norc_timing_next (&period, start + 7 * NORC_US_PER_SEC, &next);
    cr_expect_eq (next, start + 10 * NORC_US_PER_SEC);
    cr_expect_str_eq (norc_catchup_name (NORC_CATCHUP_WITHIN), "within");
    cr_expect_eq (norc_catchup_code ("ALL"), NORC_CATCHUP_ALL);
    cr_expect_eq (norc_catchup_code ("sometimes"), -1);
    cr_expect_null (norc_catchup_name (9));
}

//  Start 10 s in the past, period 1 s: the original's test_make_up
Test (norc_timing, catch_up_policies)
{
    norc_us_t now = s_t ("2026-05-01T12:00:10Z");
    norc_us_t start = now - 10 * NORC_US_PER_SEC;
    norc_timing_t t = { NULL, start, 1 };
    norc_tick_t ticks [64];
    norc_us_t next;
    int64_t grace = NORC_US_PER_SEC / 2;

    //  all: the 11 due ticks fire (start .. now), 10 reps limit them to 10
    size_t n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_ALL, 0, grace, 10, ticks, 64, &next);
    cr_expect_eq (n, 10);
    for (size_t i = 0; i < n; i++)
        cr_expect (ticks [i].fire);
    cr_expect_eq (next, 0, "repetitions used up");
    n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_ALL, 0, grace, -1, ticks, 64, &next);
    cr_expect_eq (n, 11);
    cr_expect_eq (next, now + NORC_US_PER_SEC);

    //  none: only the tick due now fires; the rest are missed, not
    //  charged, and come as one run
    n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_NONE, 0, grace, 10, ticks, 64, &next);
    cr_expect_eq (n, 2);
    cr_expect (!ticks [0].fire);
    cr_expect_eq (ticks [0].nominal, start);
    cr_expect_eq (ticks [0].last, now - NORC_US_PER_SEC);
    cr_expect_eq (ticks [0].count, 10);
    cr_expect (ticks [1].fire);
    cr_expect_eq (ticks [1].nominal, now);
    cr_expect_eq (ticks [1].count, 1);
    cr_expect_eq (next, now + NORC_US_PER_SEC);

    //  latest: one fire for the most recent, even when it is late
    n = norc_timing_plan (&t, 0, now + NORC_US_PER_SEC / 2 + 1, NORC_CATCHUP_LATEST, 0, 0, 10, ticks, 64, &next);
    cr_expect_eq (n, 2);
    cr_expect (!ticks [0].fire);
    cr_expect_eq (ticks [0].count, 10);
    cr_expect (ticks [1].fire);
    cr_expect_eq (ticks [1].nominal, now);

    //  within 3 s: the ticks of the last 3 s fire
    n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_WITHIN, 3 * NORC_US_PER_SEC, grace, -1, ticks, 64, &next);
    cr_expect_eq (n, 5);
    int fired = 0;
    for (size_t i = 0; i < n; i++)
        fired += ticks [i].fire;
    cr_expect_eq (fired, 4);
    cr_expect (!ticks [0].fire);
    cr_expect_eq (ticks [0].count, 7);
    cr_expect_eq (ticks [0].last, start + 6 * NORC_US_PER_SEC);
    cr_expect (ticks [1].fire);
    cr_expect_eq (ticks [1].nominal, start + 7 * NORC_US_PER_SEC);

    //  From a last tick: only later ones; capped batches continue
    n = norc_timing_plan (&t, now - 2 * NORC_US_PER_SEC, now, NORC_CATCHUP_ALL, 0, grace, -1, ticks, 64, &next);
    cr_expect_eq (n, 2);
    n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_ALL, 0, grace, -1, ticks, 4, &next);
    cr_expect_eq (n, 4);
    cr_expect_eq (next, start + 4 * NORC_US_PER_SEC);

    //  Period 60, start 10 s ago, no make-up: exactly one fire now
    norc_timing_t minute = { NULL, now - 10 * NORC_US_PER_SEC, 60 };
    n = norc_timing_plan (&minute, 0, now, NORC_CATCHUP_LATEST, 0, grace, 10, ticks, 64, &next);
    cr_expect_eq (n, 1);
    cr_expect (ticks [0].fire);
    cr_expect_eq (next, now + 50 * NORC_US_PER_SEC);

    //  Nothing left
    cr_expect_eq (norc_timing_plan (&t, 0, now, NORC_CATCHUP_ALL, 0, grace, 0, ticks, 64, &next), 0);
    cr_expect_eq (next, 0);
}

//  A far-past start is one run of missed ticks, computed, not walked
Test (norc_timing, far_past_start_is_one_missed_run)
{
    norc_us_t now = s_t ("2026-05-01T12:00:00.3Z");
    norc_us_t start = s_t ("2020-01-01T00:00:00Z");
    norc_timing_t t = { NULL, start, 1 };
    norc_tick_t ticks [4];
    norc_us_t next;
    int64_t grace = NORC_US_PER_SEC / 2;
    size_t n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_NONE, 0, grace, 1, ticks, 4, &next);
    cr_assert_eq (n, 2);
    cr_expect (!ticks [0].fire);
    cr_expect_eq (ticks [0].nominal, start);
    cr_expect_eq (ticks [0].last, now - 300000 - NORC_US_PER_SEC);
    cr_expect_eq (ticks [0].count, (now - 300000 - start) / NORC_US_PER_SEC);
    cr_expect (ticks [1].fire);
    cr_expect_eq (ticks [1].nominal, now - 300000);
    cr_expect_eq (next, 0, "one repetition, used");
    //  Every policy but all misses the same way; latest fires the newest
    n = norc_timing_plan (&t, 0, now + 2 * NORC_US_PER_SEC, NORC_CATCHUP_LATEST, 0, 0, -1, ticks, 4, &next);
    cr_assert_eq (n, 2);
    cr_expect (!ticks [0].fire);
    cr_expect (ticks [1].fire);
    cr_expect_eq (ticks [1].nominal, now - 300000 + 2 * NORC_US_PER_SEC);
    cr_expect_eq (ticks [0].count + 1, (ticks [1].nominal - start) / NORC_US_PER_SEC + 1);
    //  A cron schedule walks its ticks, but a bounded number per call
    char err [128];
    norc_cron_t *cron = norc_cron_new ("* * * * * *", NULL, err, sizeof err);
    norc_timing_t c = { cron, start, 0 };
    n = norc_timing_plan (&c, 0, now, NORC_CATCHUP_NONE, 0, grace, -1, ticks, 4, &next);
    cr_assert_eq (n, 1);
    cr_expect (!ticks [0].fire);
    cr_expect_eq (ticks [0].count, NORC_TIMING_SCAN_MAX);
    cr_expect (next <= now, "the rest is due at once");
    cr_expect_eq (next, ticks [0].last + NORC_US_PER_SEC);
    norc_cron_destroy (&cron);
}

Test (norc_timing, cron_schedule_ticks_after_its_base)
{
    char err [128];
    norc_cron_t *cron = norc_cron_new ("* * * * * *", NULL, err, sizeof err);
    norc_us_t now = s_t ("2026-05-01T12:00:10Z");
    norc_timing_t t = { cron, now - 5 * NORC_US_PER_SEC, 0 };
    norc_tick_t ticks [16];
    norc_us_t next;
    //  The original's test_cron_make_up: base now-5s, make up -> 5 fires
    //  (ticks at -4..0 s)
    size_t n = norc_timing_plan (&t, 0, now, NORC_CATCHUP_ALL, 0, 0, -1, ticks, 16, &next);
    cr_expect_eq (n, 5);
    cr_expect_eq (ticks [0].nominal, now - 4 * NORC_US_PER_SEC);
    cr_expect_eq (next, now + NORC_US_PER_SEC);
    norc_cron_destroy (&cron);
}

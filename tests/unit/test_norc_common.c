//  Unit tests: the prelude (codes, names, time), memory, logging, buffers.
#include <criterion/criterion.h>
#include <errno.h>
#include "norc.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_buf.h"

Test (norc, names_round_trip_with_original_numbers)
{
    cr_expect_eq (norc_status_code ("success"), 7);
    cr_expect_eq (norc_status_code ("INTERRUPTED"), 16);
    cr_expect_str_eq (norc_status_name (13), "FAILURE");
    cr_expect_str_eq (norc_status_name (5), "SUSPENDED");
    cr_expect_null (norc_status_name (11));
    cr_expect_eq (norc_status_code ("nonsense"), -1);
    cr_expect_eq (norc_request_code ("reload"), 9);
    cr_expect_str_eq (norc_request_name (7), "PAUSE");
    cr_expect_null (norc_request_name (3));
    cr_expect (NORC_STATUS_IS_FINAL (NORC_ST_SUCCESS));
    cr_expect (!NORC_STATUS_IS_FINAL (NORC_ST_PAUSING));
    cr_expect (NORC_STATUS_IS_FAILURE (NORC_ST_ERROR));
    cr_expect (!NORC_STATUS_IS_FAILURE (NORC_ST_SKIPPED));
    cr_expect_str_eq (norc_strerror (NORC_CONFLICT), "conflict");
    cr_expect_str_eq (norc_strerror (42), "unknown return code");
}

Test (norc, time_parse_and_format)
{
    norc_us_t t;
    char buf [40];
    cr_assert_eq (norc_time_parse ("2026-05-01T12:00:00.123456Z", &t), NORC_OK);
    cr_expect_str_eq (norc_time_iso (t, buf, sizeof buf), "2026-05-01T12:00:00.123456Z");
    cr_assert_eq (norc_time_parse ("2026-05-01 14:00:00+02:00", &t), NORC_OK);
    cr_expect_str_eq (norc_time_iso (t, buf, sizeof buf), "2026-05-01T12:00:00.000000Z");
    cr_assert_eq (norc_time_parse ("2026-05-01T07:30-04:30", &t), NORC_OK);
    cr_expect_str_eq (norc_time_iso (t, buf, sizeof buf), "2026-05-01T12:00:00.000000Z");
    cr_assert_eq (norc_time_parse ("2024-02-29", &t), NORC_OK);
    cr_expect_str_eq (norc_time_iso (t, buf, sizeof buf), "2024-02-29T00:00:00.000000Z");
    cr_assert_eq (norc_time_parse ("86400", &t), NORC_OK);
    cr_expect_eq (t, 86400 * NORC_US_PER_SEC);
    cr_expect_str_eq (norc_time_iso (-1, buf, sizeof buf), "1969-12-31T23:59:59.999999Z");
    cr_expect_eq (norc_time_parse ("2023-02-29", &t), NORC_ERROR);
    cr_expect_eq (norc_time_parse ("2026-13-01", &t), NORC_ERROR);
    cr_expect_eq (norc_time_parse ("2026-05-01T25:00", &t), NORC_ERROR);
    cr_expect_eq (norc_time_parse ("2026-05-01T12:00:00Zjunk", &t), NORC_ERROR);
    cr_expect_eq (norc_time_parse ("", &t), NORC_ERROR);
    cr_expect_eq (norc_time_parse (NULL, &t), NORC_ERROR);
    norc_us_t before = norc_now_us ();
    cr_assert_eq (norc_time_parse ("now", &t), NORC_OK);
    cr_expect_geq (t, before);
    norc_us_t m1 = norc_mono_us (), m2 = norc_mono_us ();
    cr_expect_geq (m2, m1);
}

Test (norc, ids_and_sizes_parse_strictly)
{
    uint64_t id = 0;
    cr_expect_eq (norc_id_parse ("#42", &id), NORC_OK);
    cr_expect_eq (id, 42);
    const char *bad_ids [] = { "", "#", "0", "-1", "+1", " 1", "1x", "9223372036854775808", NULL };
    for (int i = 0; bad_ids [i]; i++)
        cr_expect_eq (norc_id_parse (bad_ids [i], &id), NORC_ERROR, "id \"%s\"", bad_ids [i]);
    struct { const char *text; int64_t size; } good [] = {
        { "0", 0 }, { "512", 512 }, { "20K", 20480 }, { "20k", 20480 }, { "3MiB", 3 << 20 },
        { "2GB", INT64_C (2) << 30 }, { "1T", INT64_C (1) << 40 }, { "100B", 100 },
        { "4611686018427387904", INT64_C (1) << 62 }, { NULL, 0 }
    };
    for (int i = 0; good [i].text; i++) {
        int64_t size = -1;
        cr_expect_eq (norc_size_parse (good [i].text, &size), NORC_OK, "size \"%s\"", good [i].text);
        cr_expect_eq (size, good [i].size, "size \"%s\" is %lld", good [i].text, (long long) size);
    }
    const char *bad_sizes [] = { "", "K", "-1", "+1", " 1", "1.5M", "12Q", "1Ki", "1 M", "1MM",
                                 "4611686018427387905", "4194305T", "99999999999999999999", NULL };
    for (int i = 0; bad_sizes [i]; i++) {
        int64_t size = 0;
        cr_expect_eq (norc_size_parse (bad_sizes [i], &size), NORC_ERROR, "size \"%s\"", bad_sizes [i]);
    }
}

//  The retry policy is a table: which (status, reason code) may run again
Test (norc, which_ends_may_be_retried)
{
    struct { int status, why; bool retry; } cases [] = {
        { NORC_ST_FAILURE, NORC_WHY_EXIT, true },           //  non-zero exit
        { NORC_ST_FAILURE, NORC_WHY_SIGNAL, true },         //  crashed
        { NORC_ST_TIMEDOUT, NORC_WHY_TIMEOUT, true },
        { NORC_ST_ERROR, NORC_WHY_HEARTBEAT_LOST, true },   //  its executor fell silent
        { NORC_ST_ERROR, NORC_WHY_EXECUTOR_DIED, true },    //  its executor died under it
        { NORC_ST_ERROR, NORC_WHY_SPAWN_FAILED, false },    //  the machine: the executor suspends
        { NORC_ST_ERROR, NORC_WHY_EXIT, false },            //  an ERROR with no known cause
        { NORC_ST_KILLED, NORC_WHY_KILL_REQUEST, false },   //  someone asked
        { NORC_ST_KILLED, NORC_WHY_CANCELLED, false },
        { NORC_ST_INTERRUPTED, NORC_WHY_INTERRUPTED, false },
        { NORC_ST_FAILURE, NORC_WHY_JOB, false },           //  a job's own end: its nodes retry
        { NORC_ST_SKIPPED, NORC_WHY_JOB, false },
        { NORC_ST_SUCCESS, NORC_WHY_EXIT, false },
        { NORC_ST_RUNNING, NORC_WHY_EXIT, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        cr_expect_eq (norc_why_retryable (cases [i].status, cases [i].why), cases [i].retry, "%s/%s",
                      norc_status_name (cases [i].status), norc_why_name (cases [i].why));
    for (int why = 0; why <= NORC_WHY_MAX; why++)
        cr_expect_not_null (norc_why_name (why), "code %d has a name", why);
    cr_expect_null (norc_why_name (NORC_WHY_MAX + 1));
}

Test (norc_mem, helpers_copy_and_format)
{
    char *s = norc_strdup ("hello");
    cr_expect_str_eq (s, "hello");
    char *t = norc_strndup ("hello", 3);
    cr_expect_str_eq (t, "hel");
    char *u = norc_asprintf ("%s-%d", s, 42);
    cr_expect_str_eq (u, "hello-42");
    int *zeros = (int *) norc_calloc (4, sizeof (int));
    cr_expect_eq (zeros [3], 0);
    zeros = (int *) norc_realloc (zeros, 100 * sizeof (int));
    zeros [99] = 1;
    free (zeros);
    free (s);
    free (t);
    free (u);
}

Test (norc_log, one_line_per_event_with_time_service_level)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&text, &size);
    norc_log_set_stream (stream);
    norc_log_init ("scheduler", NORC_LOG_INFO);
    norc_log_debug ("hidden %d", 1);
    norc_log_info ("task=%d executor=%d: lease\nexpired", 42, 3);
    errno = ENOENT;
    norc_log_warn ("open %s", "x");
    cr_expect_eq (errno, ENOENT);
    norc_log_warnx ("plain");
    norc_log_error ("bad");
    norc_log_set_stream (NULL);
    fclose (stream);
    //  2026-05-01T12:00:00.123456Z scheduler[17] info: task=42 executor=3: lease expired
    char *line = strtok (text, "\n");
    cr_assert_not_null (line);
    cr_expect_eq (strlen (line) > 28, true);
    cr_expect_eq (line [10], 'T');
    cr_expect_eq (line [19], '.');
    cr_expect_eq (line [26], 'Z');
    cr_expect_not_null (strstr (line, " scheduler["));
    cr_expect_not_null (strstr (line, "] info: task=42 executor=3: lease expired"));
    line = strtok (NULL, "\n");
    cr_expect_not_null (strstr (line, "warn: open x: No such file or directory"));
    line = strtok (NULL, "\n");
    cr_expect_not_null (strstr (line, "warn: plain"));
    line = strtok (NULL, "\n");
    cr_expect_not_null (strstr (line, "error: bad"));
    cr_expect_null (strtok (NULL, "\n"));
    cr_expect_eq (norc_log_level_parse ("DEBUG"), NORC_LOG_DEBUG);
    cr_expect_eq (norc_log_level_parse ("warning"), NORC_LOG_WARN);
    cr_expect_eq (norc_log_level_parse ("loud"), -1);
    cr_expect (norc_log_enabled (NORC_LOG_ERROR));
    cr_expect (!norc_log_enabled (NORC_LOG_DEBUG));
    free (text);
}

Test (norc_log, fatalx_exits_one, .exit_code = 1)
{
    norc_fatalx ("cannot start: %s", "reason");
}

Test (norc_buf, grows_to_cap_and_refuses_more)
{
    norc_buf_t *buf = norc_buf_new (1000);
    for (int i = 0; i < 100; i++)
        cr_assert_eq (norc_buf_append (buf, "0123456789", 10), NORC_OK);
    cr_expect_eq (norc_buf_size (buf), 1000);
    cr_expect_eq (norc_buf_cap (buf), 1000);
    cr_expect_eq (norc_buf_append (buf, "x", 1), NORC_ERROR);
    cr_expect_eq (norc_buf_size (buf), 1000);
    cr_expect_eq (norc_buf_str (buf) [1000], 0);
    norc_buf_reset (buf);
    cr_expect_eq (norc_buf_size (buf), 0);
    cr_expect_eq (norc_buf_printf (buf, "%s=%d", "key", 7), NORC_OK);
    cr_expect_str_eq (norc_buf_str (buf), "key=7");
    size_t size;
    uint8_t *taken = norc_buf_take (buf, &size);
    cr_expect_eq (size, 5);
    cr_expect_str_eq ((char *) taken, "key=7");
    cr_expect_eq (norc_buf_size (buf), 0);
    free (taken);
    norc_buf_t *small = norc_buf_new (4);
    cr_expect_eq (norc_buf_printf (small, "%s", "toolong"), NORC_ERROR);
    cr_expect_eq (norc_buf_append (small, norc_buf_data (buf), 0), NORC_OK);
    norc_buf_destroy (&small);
    norc_buf_destroy (&buf);
    cr_expect_null (buf);
    norc_buf_destroy (&buf);
}

//  At most so many a second: the rest of the second is refused, the next
//  second starts again
Test (norc, a_rate_allows_so_many_a_second)
{
    norc_rate_t rate = { 0 };
    for (int i = 0; i < 5; i++)
        cr_expect (norc_rate_allow (&rate, 5), "event %d", i + 1);
    cr_expect (!norc_rate_allow (&rate, 5), "the sixth in the same second");
    cr_expect (!norc_rate_allow (&rate, 5));
    rate.second -= NORC_US_PER_SEC;         //  as if a second went by
    cr_expect (norc_rate_allow (&rate, 5), "a new second");
}

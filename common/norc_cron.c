//  norc_cron.c - cron expressions: the grammar and the next fire time.
//
//  A parsed expression is a set of bit masks, one per field, plus the
//  special day rules (L, W, #). The next fire time is searched in civil
//  (wall-clock) time of the schedule's zone, field by field from the month
//  down to the second, resetting the lower fields whenever a higher one
//  moves (the original forgot to); a month that cannot match is skipped
//  whole, so the search is short, and it gives up after 50 years (an
//  impossible date such as 30 February is an error, never a hang).
//
//  Each civil candidate is then turned into an instant with the zone's
//  rules (norc_calendar.c, which states the DST rule). The original Norc
//  encoding is translated in norc_cron_original.c.
#include "norc_cron_internal.h"
#include "norc_calendar.h"
#include "norc_mem.h"
#include <ctype.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

const norc_cron_field_t norc_cron_fields [F_COUNT] = {
    { "second", 0, 59 }, { "minute", 0, 59 }, { "hour", 0, 23 },
    { "day of month", 1, 31 }, { "month", 1, 12 }, { "day of week", 0, 7 }
};

static const char *s_month_names [] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"
};
static const char *s_day_names [] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

#define YEARS_SEARCHED 50

struct _norc_cron_t {
    uint64_t bits [F_COUNT];    //  allowed values per field, bit n = value n
    bool dom_star;              //  day of month is * or ?
    bool dow_star;              //  day of week is * or ?
    uint32_t dom_last;          //  bit n: "L-n" (n days before the last day)
    uint32_t dom_weekday;       //  bit n: "nW" (weekday nearest the nth)
    bool dom_last_weekday;      //  "LW"
    uint8_t dow_last;           //  bit d: "dL" (last weekday d of the month)
    uint8_t dow_nth [7];        //  bit k of [d]: "d#k"
    norc_us_t every;            //  "@every": interval, else 0
    char *tz;                   //  zone name, NULL for UTC
};

//  --------------------------------------------------------------------------
//  Parsing

typedef struct {
    char *err;
    size_t errsize;
    const char *expr;       //  whole expression, for columns
} s_parse_t;

static int
s_error (s_parse_t *p, int field, const char *at, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_error (s_parse_t *p, int field, const char *at, const char *fmt, ...)
{
    char what [400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (what, sizeof what, fmt, ap);
    va_end (ap);
    if (field >= 0)
        snprintf (p->err, p->errsize, "%s field, column %d: %s",
                  norc_cron_fields [field].name, (int) (at - p->expr) + 1, what);
    else
        snprintf (p->err, p->errsize, "%s", what);
    return NORC_ERROR;
}

//  A number or a name; advances *pp. -1 when neither is there.
static int
s_value (int field, const char **pp)
{
    const char *p = *pp;
    if (isdigit ((unsigned char) *p)) {
        long v = 0;
        while (isdigit ((unsigned char) *p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        if (isdigit ((unsigned char) *p))
            return -1;
        *pp = p;
        return (int) v;
    }
    const char **names = field == F_MON ? s_month_names : field == F_DOW ? s_day_names : NULL;
    int count = field == F_MON ? 12 : 7;
    if (names && isalpha ((unsigned char) p [0]) && isalpha ((unsigned char) p [1])
    &&  isalpha ((unsigned char) p [2]) && !isalpha ((unsigned char) p [3]))
        for (int i = 0; i < count; i++)
            if (strncasecmp (p, names [i], 3) == 0) {
                *pp = p + 3;
                return field == F_MON ? i + 1 : i;
            }
    return -1;
}

static int
s_parse_item (norc_cron_t *self, s_parse_t *p, int field, const char *item, size_t len)
{
    const char *at = item;
    const char *end = item + len;
    int lo = norc_cron_fields [field].min, hi = norc_cron_fields [field].max;
    char text [40];
    snprintf (text, sizeof text, "%.*s", (int) (len < 32 ? len : 32), item);

    if (len == 0)
        return s_error (p, field, at, "empty list item");
    //  Special day-of-month forms
    if (field == F_DOM && item [0] == 'L') {
        if (len == 1) {
            self->dom_last |= 1;
            return NORC_OK;
        }
        if (len == 2 && item [1] == 'W') {
            self->dom_last_weekday = true;
            return NORC_OK;
        }
        const char *q = item + 2;
        int n = item [1] == '-' ? s_value (F_DOM, &q) : -1;
        if (n < 0 || q != end || n > 30)
            return s_error (p, field, at, "\"%s\": expected L, LW or L-N with N 0-30", text);
        self->dom_last |= 1u << n;
        return NORC_OK;
    }
    if (field == F_DOM && item [len - 1] == 'W') {
        const char *q = item;
        int n = s_value (F_DOM, &q);
        if (n < 1 || n > 31 || q != end - 1)
            return s_error (p, field, at, "\"%s\": expected NW with N 1-31", text);
        self->dom_weekday |= 1u << n;
        return NORC_OK;
    }
    if (field == F_DOW && (item [len - 1] == 'L' || memchr (item, '#', len))) {
        const char *q = item;
        int d = s_value (F_DOW, &q);
        if (d < 0 || d > 7)
            return s_error (p, field, at, "\"%s\": expected a day 0-7 or SUN-SAT", text);
        d %= 7;
        if (item [len - 1] == 'L' && q == end - 1) {
            self->dow_last |= (uint8_t) (1u << d);
            return NORC_OK;
        }
        if (*q == '#') {
            q++;
            int k = s_value (F_DOM, &q);
            if (k >= 1 && k <= 5 && q == end) {
                self->dow_nth [d] |= (uint8_t) (1u << k);
                return NORC_OK;
            }
        }
        return s_error (p, field, at, "\"%s\": expected DL or D#K with K 1-5", text);
    }
    //  [* | N | N-M] [/S]
    const char *q = item;
    int from, to;
    bool star = false, ranged = false;
    if (*q == '*' || (*q == '?' && (field == F_DOM || field == F_DOW))) {
        from = lo;
        to = hi;
        star = true;
        q++;
    }
    else {
        from = s_value (field, &q);
        if (from < 0)
            return s_error (p, field, at, "\"%s\": expected a number%s", text,
                            field == F_MON ? " or JAN-DEC" : field == F_DOW ? " or SUN-SAT" : "");
        to = from;
        if (q < end && *q == '-') {
            q++;
            ranged = true;
            to = s_value (field, &q);
            if (to < 0)
                return s_error (p, field, at, "\"%s\": expected a number after '-'", text);
        }
    }
    int step = 1;
    if (q < end && *q == '/') {
        q++;
        step = s_value (F_SEC, &q);
        if (step < 1)
            return s_error (p, field, at, "\"%s\": step must be a number of 1 or more", text);
        //  "N/S" is N to the maximum; "N-N/S" is the range N-N, the value N
        if (!star && !ranged)
            to = hi;
    }
    if (q != end)
        return s_error (p, field, at, "\"%s\": unexpected \"%.*s\"", text, (int) (end - q), q);
    if (from < lo || from > hi || to < lo || to > hi)
        return s_error (p, field, at, "\"%s\": out of range %d-%d", text, lo, hi);
    if (from > to)
        return s_error (p, field, at, "\"%s\": range starts after it ends", text);
    for (int v = from; v <= to; v += step)
        self->bits [field] |= UINT64_C (1) << (field == F_DOW ? v % 7 : v);
    return NORC_OK;
}

static int
s_parse_field (norc_cron_t *self, s_parse_t *p, int field, const char *text, size_t len)
{
    if ((len == 1 && text [0] == '*') || (len == 1 && text [0] == '?' && (field == F_DOM || field == F_DOW))) {
        if (field == F_DOM)
            self->dom_star = true;
        if (field == F_DOW)
            self->dow_star = true;
    }
    else
    if (len == 1 && text [0] == '?')
        return s_error (p, field, text, "'?' is only allowed in the day fields");
    const char *item = text;
    const char *end = text + len;
    while (item <= end) {
        const char *comma = memchr (item, ',', (size_t) (end - item));
        const char *stop = comma ? comma : end;
        if (s_parse_item (self, p, field, item, (size_t) (stop - item)))
            return NORC_ERROR;
        item = stop + 1;
    }
    return NORC_OK;
}

//  "@every 1h30m", "@every 90s", "@every 45" (seconds)
static int
s_parse_every (norc_cron_t *self, s_parse_t *p, const char *text)
{
    const char *q = text;
    while (*q == ' ' || *q == '\t')
        q++;
    if (!*q)
        return s_error (p, -1, q, "@every needs a duration, e.g. @every 90s or @every 1h30m");
    int64_t total = 0;
    while (*q) {
        if (!isdigit ((unsigned char) *q))
            return s_error (p, -1, q, "@every: bad duration at column %d (use s, m, h, d units)",
                            (int) (q - p->expr) + 1);
        int64_t n = 0;
        while (isdigit ((unsigned char) *q) && n < INT64_C (100000000000))
            n = n * 10 + (*q++ - '0');
        int64_t unit = 1;
        if (*q == 's')
            q++;
        else
        if (*q == 'm')
            unit = 60, q++;
        else
        if (*q == 'h')
            unit = 3600, q++;
        else
        if (*q == 'd')
            unit = 86400, q++;
        else
        if (*q)
            return s_error (p, -1, q, "@every: unknown unit '%c' at column %d (use s, m, h, d)",
                            *q, (int) (q - p->expr) + 1);
        total += n * unit;
        if (total > INT64_C (3153600000))
            return s_error (p, -1, q, "@every: duration over 100 years");
    }
    if (total < 1)
        return s_error (p, -1, text, "@every: the duration must be 1 second or more");
    self->every = total * NORC_US_PER_SEC;
    return NORC_OK;
}

static const struct { const char *name; const char *expr; } s_macros [] = {
    { "@yearly", "0 0 0 1 1 *" }, { "@annually", "0 0 0 1 1 *" },
    { "@monthly", "0 0 0 1 * *" }, { "@weekly", "0 0 0 * * 0" },
    { "@daily", "0 0 0 * * *" }, { "@midnight", "0 0 0 * * *" },
    { "@hourly", "0 0 * * * *" }
};

static int s_check_matches (norc_cron_t *self, s_parse_t *p);

norc_cron_t *
norc_cron_new (const char *expr, const char *tz, char *err, size_t errsize)
{
    s_parse_t p = { err, errsize, expr };
    if (!expr) {
        s_error (&p, -1, NULL, "no expression");
        return NULL;
    }
    if (!norc_tz_valid (tz)) {
        s_error (&p, -1, NULL, "unknown time zone \"%.64s\"", tz);
        return NULL;
    }
    norc_cron_t *self = (norc_cron_t *) norc_calloc (1, sizeof (norc_cron_t));
    self->tz = norc_tz_is_utc (tz) ? NULL : norc_strdup (tz);
    const char *text = expr;
    while (isspace ((unsigned char) *text))
        text++;
    //  Macros stand for a plain expression; parse that instead, with columns
    //  reported against the macro name
    if (*text == '@') {
        if (strncasecmp (text, "@every", 6) == 0 && (text [6] == ' ' || text [6] == 0)) {
            if (s_parse_every (self, &p, text + 6))
                goto failed;
            return self;
        }
        size_t n = 0;
        while (text [n] && !isspace ((unsigned char) text [n]))
            n++;
        const char *rest = text + n;
        while (isspace ((unsigned char) *rest))
            rest++;
        for (size_t i = 0; i < sizeof s_macros / sizeof s_macros [0]; i++)
            if (strlen (s_macros [i].name) == n && strncasecmp (text, s_macros [i].name, n) == 0 && !*rest) {
                norc_cron_t *real = norc_cron_new (s_macros [i].expr, tz, err, errsize);
                norc_cron_destroy (&self);
                return real;
            }
        s_error (&p, -1, NULL, "unknown macro \"%.*s\" (use @yearly, @annually, @monthly, "
                 "@weekly, @daily, @midnight, @hourly or @every DURATION)", (int) (n < 40 ? n : 40), text);
        goto failed;
    }
    //  Split into fields
    const char *starts [7];
    size_t lens [7];
    int count = 0;
    const char *q = text;
    while (*q) {
        if (count == 7) {
            s_error (&p, -1, NULL, "too many fields: expected 5 (minute hour day month weekday) "
                     "or 6 (second minute hour day month weekday)");
            goto failed;
        }
        starts [count] = q;
        while (*q && !isspace ((unsigned char) *q))
            q++;
        lens [count] = (size_t) (q - starts [count]);
        count++;
        while (isspace ((unsigned char) *q))
            q++;
    }
    if (count != 5 && count != 6) {
        s_error (&p, -1, NULL, "%d field%s: expected 5 (minute hour day month weekday) "
                 "or 6 (second minute hour day month weekday)", count, count == 1 ? "" : "s");
        goto failed;
    }
    int first = count == 5 ? F_MIN : F_SEC;
    if (count == 5)
        self->bits [F_SEC] = 1;
    for (int i = 0; i < count; i++)
        if (s_parse_field (self, &p, first + i, starts [i], lens [i]))
            goto failed;
    if (s_check_matches (self, &p))
        goto failed;
    return self;

failed:
    norc_cron_destroy (&self);
    return NULL;
}

void
norc_cron_destroy (norc_cron_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->tz);
        free (*self_p);
        *self_p = NULL;
    }
}

bool
norc_cron_is_interval (const norc_cron_t *self, norc_us_t *interval_us)
{
    if (self->every && interval_us)
        *interval_us = self->every;
    return self->every != 0;
}

//  --------------------------------------------------------------------------
//  Matching and the search

static int
s_last_weekday (int y, int m)
{
    int last = norc_civil_days_in_month (y, m);
    int wd = norc_civil_weekday (y, m, last);
    return wd == 0 ? last - 2 : wd == 6 ? last - 1 : last;
}

//  Weekday nearest the nth, not leaving the month; 0 if the month is short.
static int
s_nearest_weekday (int y, int m, int n)
{
    int last = norc_civil_days_in_month (y, m);
    if (n > last)
        return 0;
    int wd = norc_civil_weekday (y, m, n);
    if (wd == 6)
        return n == 1 ? 3 : n - 1;
    if (wd == 0)
        return n == last ? n - 2 : n + 1;
    return n;
}

static bool
s_day_matches (const norc_cron_t *self, const norc_civil_t *c)
{
    int last = norc_civil_days_in_month (c->y, c->mo);
    int wd = norc_civil_weekday (c->y, c->mo, c->d);
    bool dom = (self->bits [F_DOM] >> c->d) & 1;
    if (!dom && self->dom_last && last - c->d <= 30)
        dom = (self->dom_last >> (last - c->d)) & 1;
    if (!dom && self->dom_last_weekday)
        dom = c->d == s_last_weekday (c->y, c->mo);
    if (!dom && self->dom_weekday)
        for (int n = 1; n <= 31 && !dom; n++)
            if ((self->dom_weekday >> n) & 1)
                dom = s_nearest_weekday (c->y, c->mo, n) == c->d;
    bool dow = (self->bits [F_DOW] >> wd) & 1;
    if (!dow && ((self->dow_last >> wd) & 1))
        dow = c->d + 7 > last;
    if (!dow && ((self->dow_nth [wd] >> ((c->d - 1) / 7 + 1)) & 1))
        dow = true;
    if (self->dom_star && self->dow_star)
        return true;
    if (self->dom_star)
        return dow;
    if (self->dow_star)
        return dom;
    return dom || dow;
}

//  Smallest allowed value >= from in a field, or -1.
static int
s_next_value (uint64_t bits, int from, int max)
{
    for (int v = from; v <= max; v++)
        if ((bits >> v) & 1)
            return v;
    return -1;
}

//  First civil time >= *c that matches, or false past the search limit.
static bool
s_next_civil (const norc_cron_t *self, norc_civil_t *c, int limit_year)
{
    while (c->y <= limit_year) {
        if (!((self->bits [F_MON] >> c->mo) & 1)) {
            norc_civil_next_month (c);
            continue;
        }
        if (!s_day_matches (self, c)) {
            norc_civil_next_day (c);
            continue;
        }
        int h = s_next_value (self->bits [F_HOUR], c->h, 23);
        if (h < 0) {
            norc_civil_next_day (c);
            continue;
        }
        if (h != c->h) {
            c->h = h;
            c->mi = c->s = 0;
        }
        int mi = s_next_value (self->bits [F_MIN], c->mi, 59);
        if (mi < 0) {
            norc_civil_next_hour (c);
            continue;
        }
        if (mi != c->mi) {
            c->mi = mi;
            c->s = 0;
        }
        int s = s_next_value (self->bits [F_SEC], c->s, 59);
        if (s < 0) {
            norc_civil_next_minute (c);
            continue;
        }
        c->s = s;
        return true;
    }
    return false;
}

int
norc_cron_next (const norc_cron_t *self, norc_us_t after, norc_us_t *result)
{
    assert (self);
    int64_t secs = after >= 0 ? after / NORC_US_PER_SEC : (after - 999999) / NORC_US_PER_SEC;
    if (self->every) {
        *result = (secs * NORC_US_PER_SEC) + self->every;
        return NORC_OK;
    }
    norc_tz_guard_t guard;
    norc_tz_enter (&guard, self->tz);
    bool zoned = guard.switched;
    norc_civil_t c;
    norc_civil_from_seconds (secs + 1 + norc_tz_offset_now (zoned, secs + 1), &c);
    int limit = c.y + YEARS_SEARCHED;
    int rc = NORC_NOTFOUND;
    while (s_next_civil (self, &c, limit)) {
        int64_t t = norc_tz_resolve (zoned, &c);
        if (t > secs) {
            *result = t * NORC_US_PER_SEC;
            rc = NORC_OK;
            break;
        }
        //  The first occurrence of a repeated hour, or a gap time mapped to
        //  a transition already passed: it has fired; look further on
        norc_civil_next_second (&c);
    }
    norc_tz_leave (&guard);
    return rc;
}

static int
s_check_matches (norc_cron_t *self, s_parse_t *p)
{
    norc_us_t next;
    //  Any instant will do: a date that exists at all recurs within 28 years
    if (norc_cron_next (self, INT64_C (946684800) * NORC_US_PER_SEC, &next) != NORC_OK)
        return s_error (p, -1, NULL, "the expression never matches a date "
                        "(like 30 February); nothing would ever run");
    return NORC_OK;
}

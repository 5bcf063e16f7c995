//  norc_calendar.c - civil (wall-clock) calendar arithmetic and time zones:
//  the ground norc_cron searches on. Proleptic Gregorian arithmetic after
//  Howard Hinnant; zone offsets from the C library (localtime_r with TZ set
//  for the call), which reads the system's IANA zone database: we never
//  parse zone files ourselves.
#include "norc_calendar.h"
#include "norc_mem.h"
#include <ctype.h>
#include <time.h>

//  --------------------------------------------------------------------------
//  Civil calendar arithmetic (proleptic Gregorian), after Howard Hinnant

int64_t
norc_civil_days (int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool
norc_civil_leap (int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
norc_civil_days_in_month (int y, int m)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && norc_civil_leap (y) ? 29 : days [m - 1];
}

//  0 = Sunday
int
norc_civil_weekday (int y, int m, int d)
{
    int64_t days = norc_civil_days (y, m, d);
    return (int) (days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

int64_t
norc_civil_seconds (const norc_civil_t *c)
{
    return norc_civil_days (c->y, c->mo, c->d) * 86400
         + c->h * 3600 + c->mi * 60 + c->s;
}

void
norc_civil_from_seconds (int64_t t, norc_civil_t *c)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    c->h = (int) (rem / 3600);
    c->mi = (int) (rem / 60 % 60);
    c->s = (int) (rem % 60);
    //  civil_from_days
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->d = (int) (doy - (153 * mp + 2) / 5 + 1);
    c->mo = (int) (mp < 10 ? mp + 3 : mp - 9);
    c->y = (int) (yoe + era * 400 + (c->mo <= 2));
}

//  Move to the start of the next day / month; lower fields become 0.
void
norc_civil_next_month (norc_civil_t *c)
{
    c->d = 1;
    c->h = c->mi = c->s = 0;
    if (++c->mo > 12) {
        c->mo = 1;
        c->y++;
    }
}

void
norc_civil_next_day (norc_civil_t *c)
{
    c->h = c->mi = c->s = 0;
    if (++c->d > norc_civil_days_in_month (c->y, c->mo))
        norc_civil_next_month (c);
}

void
norc_civil_next_hour (norc_civil_t *c)
{
    c->mi = c->s = 0;
    if (++c->h > 23)
        norc_civil_next_day (c);
}

void
norc_civil_next_minute (norc_civil_t *c)
{
    c->s = 0;
    if (++c->mi > 59)
        norc_civil_next_hour (c);
}

void
norc_civil_next_second (norc_civil_t *c)
{
    if (++c->s > 59)
        norc_civil_next_minute (c);
}

//  --------------------------------------------------------------------------
//  Time zones

bool
norc_tz_is_utc (const char *tz)
{
    return !tz || !*tz || strcmp (tz, "UTC") == 0 || strcmp (tz, "Etc/UTC") == 0
        || strcmp (tz, "Z") == 0;
}

bool
norc_tz_valid (const char *tz)
{
    if (norc_tz_is_utc (tz))
        return true;
    if (strlen (tz) > 64 || tz [0] == '/' || strstr (tz, ".."))
        return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum ((unsigned char) *p) && !strchr ("/_+-", *p))
            return false;
    const char *dir = getenv ("TZDIR");
    char *path = norc_asprintf ("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    FILE *file = fopen (path, "rb");
    free (path);
    if (!file)
        return false;
    char magic [4] = { 0 };
    size_t n = fread (magic, 1, 4, file);
    fclose (file);
    return n == 4 && memcmp (magic, "TZif", 4) == 0;
}

void
norc_tz_enter (norc_tz_guard_t *guard, const char *tz)
{
    guard->switched = !norc_tz_is_utc (tz);
    guard->saved = NULL;
    if (!guard->switched)
        return;
    const char *old = getenv ("TZ");
    guard->saved = old ? norc_strdup (old) : NULL;
    setenv ("TZ", tz, 1);
    tzset ();
}

void
norc_tz_leave (norc_tz_guard_t *guard)
{
    if (!guard->switched)
        return;
    if (guard->saved)
        setenv ("TZ", guard->saved, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (guard->saved);
}

//  Offset at t in the zone currently entered (0 when UTC).
int
norc_tz_offset_now (bool zoned, int64_t t)
{
    if (!zoned)
        return 0;
    time_t tt = (time_t) t;
    struct tm tm;
    localtime_r (&tt, &tm);
    return (int) tm.tm_gmtoff;
}

//  The instant of a civil time, by the DST rule in the header comment.
int64_t
norc_tz_resolve (bool zoned, const norc_civil_t *c)
{
    int64_t g = norc_civil_seconds (c);
    if (!zoned)
        return g;
    int o1 = norc_tz_offset_now (zoned, g - 172800);
    int o2 = norc_tz_offset_now (zoned, g + 172800);
    int64_t best = INT64_MAX;
    if (norc_tz_offset_now (zoned, g - o1) == o1)
        best = g - o1;
    if (norc_tz_offset_now (zoned, g - o2) == o2 && g - o2 < best)
        best = g - o2;
    if (best != INT64_MAX)
        return best;
    //  In a gap: find the transition between the two candidate instants
    int64_t lo = g - o2, hi = g - o1;
    if (lo > hi) {
        int64_t swap = lo;
        lo = hi;
        hi = swap;
    }
    int lo_offset = norc_tz_offset_now (zoned, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (norc_tz_offset_now (zoned, mid) == lo_offset)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

int
norc_tz_offset (const char *tz, norc_us_t at)
{
    norc_tz_guard_t guard;
    norc_tz_enter (&guard, tz);
    int64_t secs = at >= 0 ? at / NORC_US_PER_SEC : (at - 999999) / NORC_US_PER_SEC;
    int offset = norc_tz_offset_now (guard.switched, secs);
    norc_tz_leave (&guard);
    return offset;
}

char *
norc_tz_format (const char *tz, norc_us_t at, char *buf, size_t size)
{
    int offset = norc_tz_offset (tz, at);
    int64_t secs = at >= 0 ? at / NORC_US_PER_SEC : (at - 999999) / NORC_US_PER_SEC;
    norc_civil_t c;
    norc_civil_from_seconds (secs + offset, &c);
    int a = offset < 0 ? -offset : offset;
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
              c.y, c.mo, c.d, c.h, c.mi, c.s, offset < 0 ? '-' : '+',
              a / 3600, a / 60 % 60);
    return buf;
}

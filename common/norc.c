//  norc.c - return codes, status and request names, time helpers.
#include "norc.h"
#include <ctype.h>
#include <strings.h>
#include <time.h>

const char *
norc_strerror (int rc)
{
    switch (rc) {
        case NORC_OK:       return "ok";
        case NORC_ERROR:    return "error";
        case NORC_AGAIN:    return "temporary failure, try again";
        case NORC_NOTFOUND: return "not found";
        case NORC_CONFLICT: return "conflict";
        default:            return "unknown return code";
    }
}

const char *norc_status_name (int status)        { return norc_enum_name (&norc_enum_status, status); }
int         norc_status_code (const char *name)   { return norc_enum_code (&norc_enum_status, name); }
const char *norc_why_name (int why)               { return norc_enum_name (&norc_enum_why, why); }
const char *norc_request_name (int request)       { return norc_enum_name (&norc_enum_request, request); }
int         norc_request_code (const char *name)  { return norc_enum_code (&norc_enum_request, name); }

norc_us_t
norc_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (norc_us_t) ts.tv_sec * NORC_US_PER_SEC + ts.tv_nsec / 1000;
}

norc_us_t
norc_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (norc_us_t) ts.tv_sec * NORC_US_PER_SEC + ts.tv_nsec / 1000;
}

bool
norc_rate_allow (norc_rate_t *self, int max)
{
    norc_us_t now = norc_mono_us ();
    if (now - self->second >= NORC_US_PER_SEC) {
        self->second = now;
        self->count = 0;
    }
    return ++self->count <= max;
}

char *
norc_time_iso (norc_us_t t, char *buf, size_t size)
{
    int64_t secs = t / NORC_US_PER_SEC;
    int64_t us = t % NORC_US_PER_SEC;
    if (us < 0) {
        us += NORC_US_PER_SEC;
        secs -= 1;
    }
    time_t tt = (time_t) secs;
    struct tm tm;
    gmtime_r (&tt, &tm);
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec, (int) us);
    return buf;
}

//  Read exactly n digits; returns -1 if they are not there.
static int
s_digits (const char **p, int n)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) (*p) [i]))
            return -1;
        value = value * 10 + ((*p) [i] - '0');
    }
    *p += n;
    return value;
}

int
norc_time_parse (const char *text, norc_us_t *result)
{
    if (!text || !*text)
        return NORC_ERROR;
    if (strcmp (text, "now") == 0) {
        *result = norc_now_us ();
        return NORC_OK;
    }
    const char *p = text;
    bool all_digits = true;
    for (const char *q = text; *q; q++)
        if (!isdigit ((unsigned char) *q) && !(q == text && *q == '-'))
            all_digits = false;
    if (all_digits && strlen (text) < 15) {
        *result = (norc_us_t) strtoll (text, NULL, 10) * NORC_US_PER_SEC;
        return NORC_OK;
    }
    struct tm tm = { 0 };
    int year = s_digits (&p, 4);
    if (year < 0 || *p++ != '-')
        return NORC_ERROR;
    int mon = s_digits (&p, 2);
    if (mon < 1 || mon > 12 || *p++ != '-')
        return NORC_ERROR;
    int day = s_digits (&p, 2);
    if (day < 1 || day > 31)
        return NORC_ERROR;
    int hour = 0, min = 0, sec = 0, us = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        hour = s_digits (&p, 2);
        if (hour < 0 || hour > 23 || *p++ != ':')
            return NORC_ERROR;
        min = s_digits (&p, 2);
        if (min < 0 || min > 59)
            return NORC_ERROR;
        if (*p == ':') {
            p++;
            sec = s_digits (&p, 2);
            if (sec < 0 || sec > 60)
                return NORC_ERROR;
            if (*p == '.') {
                p++;
                int scale = 100000;
                if (!isdigit ((unsigned char) *p))
                    return NORC_ERROR;
                while (isdigit ((unsigned char) *p)) {
                    us += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
    }
    int offset = 0;
    if (*p == 'Z')
        p++;
    else
    if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = s_digits (&p, 2);
        if (oh < 0 || oh > 23)
            return NORC_ERROR;
        if (*p == ':')
            p++;
        int om = s_digits (&p, 2);
        if (om < 0 || om > 59)
            return NORC_ERROR;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return NORC_ERROR;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm (&tm);
    //  timegm normalises 31 Feb into March: refuse dates that moved
    struct tm check;
    gmtime_r (&t, &check);
    if (check.tm_mday != day || check.tm_mon != mon - 1)
        return NORC_ERROR;
    *result = ((norc_us_t) t - offset) * NORC_US_PER_SEC + us;
    return NORC_OK;
}

char *
norc_log_path (uint64_t instance_id, char *buf, size_t size)
{
    snprintf (buf, size, "instances/%llu/%llu", (unsigned long long) (instance_id / 1000),
              (unsigned long long) instance_id);
    return buf;
}

int
norc_id_parse (const char *text, uint64_t *id)
{
    if (!text)
        return NORC_ERROR;
    if (*text == '#')
        text++;
    if (!*text || strlen (text) > 19)
        return NORC_ERROR;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return NORC_ERROR;
        v = v * 10 + (uint64_t) (*p - '0');
    }
    if (v == 0 || v > (uint64_t) INT64_MAX)
        return NORC_ERROR;
    *id = v;
    return NORC_OK;
}

int
norc_size_parse (const char *text, int64_t *size)
{
    if (!text || *text < '0' || *text > '9')
        return NORC_ERROR;
    uint64_t v = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_C (1) << 62) / 10)
            return NORC_ERROR;
        v = v * 10 + (uint64_t) (*p - '0');
    }
    int shift = 0;
    switch (*p) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: break;
    }
    if (shift) {
        p++;
        if (strcmp (p, "iB") == 0 || strcmp (p, "B") == 0)
            p += strlen (p);
    }
    else
    if (strcmp (p, "B") == 0)
        p++;
    if (*p || v > (UINT64_C (1) << 62) >> shift)
        return NORC_ERROR;
    *size = (int64_t) (v << shift);
    return NORC_OK;
}

bool
norc_why_retryable (int status, int why)
{
    switch (status) {
        case NORC_ST_FAILURE:
            return why == NORC_WHY_EXIT || why == NORC_WHY_SIGNAL;
        case NORC_ST_TIMEDOUT:
            return why == NORC_WHY_TIMEOUT;
        case NORC_ST_ERROR:
            return why == NORC_WHY_HEARTBEAT_LOST || why == NORC_WHY_EXECUTOR_DIED;
        default:
            return false;
    }
}

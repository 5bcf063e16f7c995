//  norc_cron.h - cron expressions with seconds, time zones and the original
//  Norc encoding. Pure: no I/O besides reading the zone database.
//
//  Grammar (docs/schedules.md): 5 fields "min hour dom month dow" (second 0),
//  6 fields "sec min hour dom month dow"; *, ?, lists, ranges, steps, month
//  and day names, L, L-N, NW, LW in day-of-month, NL and N#K in day-of-week;
//  @yearly @annually @monthly @weekly @daily @midnight @hourly;
//  @every DURATION (e.g. 90s, 5m, 1h30m). Day-of-month and day-of-week
//  combine like Vixie cron: when both are restricted, either may match.
#ifndef NORC_CRON_H_INCLUDED
#define NORC_CRON_H_INCLUDED
#include "norc.h"
#include "norc_calendar.h"

typedef struct _norc_cron_t norc_cron_t;

//  Parse a cron expression (not the original encoding: normalize that
//  first) for a time zone (NULL or "" for UTC). On error returns NULL and
//  writes what is wrong and where into err.
norc_cron_t *
    norc_cron_new (const char *expr, const char *tz, char *err, size_t errsize);

void
    norc_cron_destroy (norc_cron_t **self_p);

//  Next fire time strictly after the instant `after`, on a whole second.
//  NORC_OK, or NORC_NOTFOUND when no date matches within 50 years.
//  Not thread-safe when the zone is not UTC (it switches TZ for the call).
int
    norc_cron_next (const norc_cron_t *self, norc_us_t after, norc_us_t *result);

//  True when the expression is "@every D"; then *interval_us is D.
bool
    norc_cron_is_interval (const norc_cron_t *self, norc_us_t *interval_us);

//  Turn what a user typed into the form Norc stores: the original Norc
//  encoding ("o*d1w*h0m0s0", long keys) and its shorthands (HALFHOURLY,
//  HOURLY, DAILY, WEEKLY, MONTHLY) become a 6-field cron expression, their
//  random minute/second drawn from `seed` once, here; anything else is
//  checked and returned trimmed. The result is validated with norc_cron_new
//  (including "never matches"). Caller owns the result; NULL on error with
//  the reason in err.
char *
    norc_cron_normalize (const char *expr, const char *tz, uint32_t seed,
                         char *err, size_t errsize);

#endif

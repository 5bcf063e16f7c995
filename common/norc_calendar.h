//  norc_calendar.h - civil (wall-clock) calendar arithmetic, proleptic
//  Gregorian, and time zones from the system's IANA database. Pure but for
//  reading the zone database; the zone functions switch the process's TZ
//  for the length of a call, so they are not thread-safe.
//
//  The DST rule for a civil time in a zone: one that does not exist
//  (spring-forward gap) is the instant of the transition; one that exists
//  twice (fall-back) is its first occurrence.
#ifndef NORC_CALENDAR_H_INCLUDED
#define NORC_CALENDAR_H_INCLUDED
#include "norc.h"

//  A civil time: year, month 1-12, day 1-31, hour, minute, second
typedef struct {
    int y, mo, d, h, mi, s;
} norc_civil_t;

//  Days from 1970-01-01 to a civil date (negative before)
int64_t norc_civil_days (int y, int m, int d);
bool norc_civil_leap (int y);
int norc_civil_days_in_month (int y, int m);
//  0 = Sunday
int norc_civil_weekday (int y, int m, int d);
//  Seconds from 1970-01-01T00:00:00 to a civil time (as if in UTC), and back
int64_t norc_civil_seconds (const norc_civil_t *c);
void norc_civil_from_seconds (int64_t t, norc_civil_t *c);
//  Move to the start of the next month / day / hour / minute, or the next
//  second; the lower fields become 0.
void norc_civil_next_month (norc_civil_t *c);
void norc_civil_next_day (norc_civil_t *c);
void norc_civil_next_hour (norc_civil_t *c);
void norc_civil_next_minute (norc_civil_t *c);
void norc_civil_next_second (norc_civil_t *c);

//  True for NULL, "", "UTC", "Etc/UTC" and "Z".
bool norc_tz_is_utc (const char *tz);
//  True when the zone name is a valid IANA zone on this machine ("UTC" too).
bool norc_tz_valid (const char *tz);
//  UTC offset in seconds of the zone at an instant.
int norc_tz_offset (const char *tz, norc_us_t at);
//  Format an instant in the zone: "2026-03-08T03:00:00-04:00".
char *norc_tz_format (const char *tz, norc_us_t at, char *buf, size_t size);

//  The process's TZ switched to a zone for the length of a search, and
//  restored: enter, any number of offset_now / resolve, leave.
typedef struct {
    char *saved;        //  previous TZ value, or NULL if unset
    bool switched;      //  false for UTC: nothing was switched
} norc_tz_guard_t;

void norc_tz_enter (norc_tz_guard_t *guard, const char *tz);
void norc_tz_leave (norc_tz_guard_t *guard);
//  Offset at t (seconds) in the zone entered (0 when not zoned).
int norc_tz_offset_now (bool zoned, int64_t t);
//  The instant (seconds) of a civil time in the zone entered, by the DST
//  rule above.
int64_t norc_tz_resolve (bool zoned, const norc_civil_t *c);

#endif

//  norc_timing.h - when a schedule's ticks fall, and what to do with the
//  ticks that came due: the pure half of the scheduler.
#ifndef NORC_TIMING_H_INCLUDED
#define NORC_TIMING_H_INCLUDED
#include "norc.h"
#include "norc_cron.h"

//  Name "none", "all", "latest", "within" and back; -1 when unknown.
const char *norc_catchup_name (int catchup);
int         norc_catchup_code (const char *name);

typedef struct {
    const norc_cron_t *cron;    //  cron timing, or NULL for a period schedule
    norc_us_t start;            //  period: the first tick; cron: ticks come after it
    int64_t period_s;           //  period: seconds between ticks (1 or more)
} norc_timing_t;

//  The first tick strictly after `after`. A period schedule's first tick
//  is its start. NORC_OK, or NORC_NOTFOUND when there is none.
int
    norc_timing_next (const norc_timing_t *self, norc_us_t after, norc_us_t *next);

//  A fired tick, or a run of consecutive missed ticks (one entry, however
//  long the outage: a far-past start costs one entry, not one per period).
typedef struct {
    norc_us_t nominal;          //  the tick's nominal time (a run: its first)
    norc_us_t last;             //  a run: its last tick; a fired tick: nominal
    int64_t count;              //  ticks in the entry (1 for a fired tick)
    bool fire;                  //  true: create an instance; false: record as missed
} norc_tick_t;

//  How many missed cron ticks one call walks at most before it returns
//  (the caller comes back at once for the rest: its *next is due).
#define NORC_TIMING_SCAN_MAX 100000

//  Decide what to do, at `now`, with the ticks after `last` (the last tick
//  already handled; 0 for none yet) that are due (nominal <= now). Writes up
//  to `cap` ticks into out and returns how many; call again from the last
//  one returned when the result equals cap (or when *next is already due).
//  Consecutive missed ticks come as one entry; period schedules skip over
//  them arithmetically. `remaining` is how many fires
//  are left (-1 for no limit): missed ticks do not use one. *next is the
//  first tick after those returned, or 0 when the schedule has no more
//  fires (remaining used up or no further date).
size_t
    norc_timing_plan (const norc_timing_t *self, norc_us_t last, norc_us_t now,
                      int catchup, int64_t window_us, int64_t grace_us,
                      int64_t remaining, norc_tick_t *out, size_t cap,
                      norc_us_t *next);

#endif

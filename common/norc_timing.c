//  norc_timing.c - tick arithmetic for period and cron schedules, and the
//  catch-up decision. No I/O, no clock: `now` is always an argument, so every
//  rule is tested with a table.
#include "norc_timing.h"

const char *
norc_catchup_name (int catchup)
{
    return norc_enum_name (&norc_enum_catchup, catchup);
}

int
norc_catchup_code (const char *name)
{
    return norc_enum_code (&norc_enum_catchup, name);
}

int
norc_timing_next (const norc_timing_t *self, norc_us_t after, norc_us_t *next)
{
    if (self->cron) {
        norc_us_t base = after < self->start ? self->start : after;
        return norc_cron_next (self->cron, base, next);
    }
    assert (self->period_s >= 1);
    if (after < self->start) {
        *next = self->start;
        return NORC_OK;
    }
    int64_t period = self->period_s * NORC_US_PER_SEC;
    int64_t k = (after - self->start) / period + 1;
    *next = self->start + k * period;
    return NORC_OK;
}

//  A period schedule: the last of the ticks from `tick` on that the
//  policy misses (fire is monotone in the tick: once one fires, every
//  later due one does). `tick` itself is known to be missed.
static norc_us_t
s_period_last_missed (const norc_timing_t *self, norc_us_t tick, norc_us_t now,
                      int catchup, int64_t window_us, int64_t grace_us)
{
    int64_t period = self->period_s * NORC_US_PER_SEC;
    //  Ticks before `bound` are missed
    norc_us_t bound = now - (catchup == NORC_CATCHUP_WITHIN && window_us > grace_us ? window_us : grace_us);
    if (catchup == NORC_CATCHUP_LATEST) {
        //  ... and the latest due tick fires whatever its lateness
        norc_us_t latest = self->start + (now - self->start) / period * period;
        if (latest < bound)
            bound = latest;
    }
    //  The largest tick strictly before bound (bound > tick)
    int64_t k = (bound - self->start + period - 1) / period - 1;
    norc_us_t last = self->start + k * period;
    return last < tick ? tick : last;
}

size_t
norc_timing_plan (const norc_timing_t *self, norc_us_t last, norc_us_t now,
                  int catchup, int64_t window_us, int64_t grace_us,
                  int64_t remaining, norc_tick_t *out, size_t cap,
                  norc_us_t *next)
{
    size_t count = 0;
    norc_us_t after = last ? last : self->start - 1;
    norc_us_t tick;
    size_t scanned = 0;
    *next = 0;
    if (remaining == 0)
        return 0;
    //  For LATEST we must know which due tick is the last one: look one ahead
    while (count < cap && norc_timing_next (self, after, &tick) == NORC_OK) {
        if (tick > now || ++scanned > NORC_TIMING_SCAN_MAX) {
            *next = tick;
            return count;
        }
        norc_us_t following;
        bool is_latest = norc_timing_next (self, tick, &following) != NORC_OK || following > now;
        bool fire;
        switch (catchup) {
            case NORC_CATCHUP_ALL:    fire = true; break;
            case NORC_CATCHUP_LATEST: fire = is_latest || now - tick <= grace_us; break;
            case NORC_CATCHUP_WITHIN: fire = now - tick <= (window_us > grace_us ? window_us : grace_us); break;
            default:                  fire = now - tick <= grace_us; break;
        }
        if (!fire) {
            norc_us_t run_last = self->cron ? tick
                               : s_period_last_missed (self, tick, now, catchup, window_us, grace_us);
            int64_t n = self->cron ? 1 : (run_last - tick) / (self->period_s * NORC_US_PER_SEC) + 1;
            if (count && !out [count - 1].fire) {
                out [count - 1].last = run_last;
                out [count - 1].count += n;
            }
            else {
                out [count].nominal = tick;
                out [count].last = run_last;
                out [count].count = n;
                out [count].fire = false;
                count++;
            }
            after = run_last;
            continue;
        }
        out [count].nominal = tick;
        out [count].last = tick;
        out [count].count = 1;
        out [count].fire = true;
        count++;
        after = tick;
        if (remaining > 0 && --remaining == 0)
            return count;
    }
    if (count == cap && norc_timing_next (self, after, &tick) == NORC_OK)
        *next = tick;
    return count;
}

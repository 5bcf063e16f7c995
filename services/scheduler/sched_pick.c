//  sched_pick.c - see sched_pick.h
#include "sched_pick.h"

bool
sched_pick_eligible (const sched_pick_t *a)
{
    return a->serves && a->credits > 0;
}

bool
sched_pick_better (const sched_pick_t *a, const sched_pick_t *b)
{
    if (!sched_pick_eligible (a))
        return false;
    if (!b)
        return true;
    if (a->credits != b->credits)
        return a->credits > b->credits;
    return a->last_pick < b->last_pick;
}

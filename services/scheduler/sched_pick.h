//  sched_pick.h - the dispatcher's choice of executor for a waiting
//  instance, as a pure rule: among the executors that serve its queue and
//  have a free slot, the one with the most free slots (the least loaded),
//  and among equals the one given work longest ago, so that work spreads
//  over every host.
#ifndef SCHED_PICK_H_INCLUDED
#define SCHED_PICK_H_INCLUDED
#include "norc.h"

typedef struct {
    bool serves;                //  it serves the instance's queue (directly or through a group)
    int credits;                //  its free slots
    uint64_t last_pick;         //  when it was last given work (a counter; 0 never)
} sched_pick_t;

//  Whether a may take the work at all
bool sched_pick_eligible (const sched_pick_t *a);

//  Whether a is a better choice than b (b may be NULL: none yet)
bool sched_pick_better (const sched_pick_t *a, const sched_pick_t *b);

#endif

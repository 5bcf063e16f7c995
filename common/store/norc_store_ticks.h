//  norc_store_ticks.h - the record's ticks: instances made by schedules, and the ledger of every tick.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_TICKS_H_INCLUDED
#define NORC_STORE_TICKS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

//  A tick, written by the holder of the schedule's shard at its current epoch.
typedef struct {
    uint64_t schedule_id;
    uint64_t task_id;           //  the schedule's task
    uint64_t queue_id;          //  the schedule's queue
    int shard;                  //  the schedule's shard
    uint64_t owner;             //  scheduler
    uint64_t epoch;             //  the shard's epoch it holds
    norc_us_t nominal;          //  the tick (a run of skipped or missed ticks: its first)
    norc_us_t last;             //  a run: its last tick (0: the tick alone)
    int64_t count;              //  a run: how many ticks (0 or 1: the tick alone)
    norc_us_t prev;             //  the schedule's tick before this one (0: none); a
                                //  skipped or missed run continues the ledger row
                                //  that ends there when outcome and reason match
    norc_us_t next_nominal;     //  the schedule's next tick after this, 0 if none
    int64_t remaining;          //  fires left after this tick
    uint64_t executor_id;       //  when not 0, the new instance is assigned to it at once, if
                                //  the owner holds the dispatch lease at dispatch_epoch (else
                                //  it is written unassigned and executor_id comes back 0)
    uint64_t dispatch_epoch;
    int outcome;                //  batch only: 0 fire, or NORC_TICK_SKIPPED / NORC_TICK_MISSED
    bool forbid;                //  batch only: skip it while an earlier run of the schedule is active
    const char *reason;         //  batch only: why it was skipped or missed
    uint64_t instance_id;       //  out: the new instance
    int result;                 //  batch only, out: as tick_fire / tick_skip would return
} norc_tick_fire_t;

//  Create the tick's instance and advance the schedule, in one transaction.
//  NORC_CONFLICT when the tick already has an instance (the schedule is
//  advanced anyway); NORC_NOTFOUND when the lease is not the caller's any
//  more or the schedule was deleted (nothing is written).
int norc_store_tick_fire (norc_db_t *db, norc_tick_fire_t *tick);
//  Active (not final) instances of a schedule other than `except`, oldest
//  first: id, status, executor_id.
int norc_store_schedule_active (norc_db_t *db, uint64_t schedule_id, uint64_t except, norc_rows_t *rows);
//  Record a tick that produced no instance (NORC_TICK_SKIPPED or
//  NORC_TICK_MISSED, with why) and advance the schedule; same fencing.
int norc_store_tick_skip (norc_db_t *db, const norc_tick_fire_t *tick, int outcome,
                          const char *reason);
//  Many ticks (fired or skipped, of any schedules, in order) in one
//  transaction: the scheduler's group commit. Each tick's own outcome is
//  in its `result` (NORC_OK, NORC_CONFLICT, NORC_NOTFOUND) and does not
//  stop the others. Returns NORC_OK when the transaction committed.
int norc_store_tick_batch (norc_db_t *db, norc_tick_fire_t *ticks, size_t count);
//  Every tick of a schedule, newest first: nominal, last and ticks (a
//  run of skipped or missed ticks is one row), outcome (fired, skipped,
//  missed), reason, instance_id, status, lateness_ms.
int norc_store_tick_history (norc_db_t *db, uint64_t schedule_id, int limit, norc_rows_t *rows);

#endif

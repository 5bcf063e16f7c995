//  norc_store_schedules.h - the record's schedules and the leases schedulers hold on them.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_SCHEDULES_H_INCLUDED
#define NORC_STORE_SCHEDULES_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

typedef struct {
    uint64_t id;
    uint64_t task_id;
    uint64_t queue_id;
    int kind;                   //  NORC_SCHED_*
    norc_us_t start;            //  period: first tick; cron: ticks after it
    int64_t period_s;
    char *cron;                 //  stored (normalized) expression
    char *tz;                   //  IANA zone
    int64_t repetitions;        //  0 = forever
    int64_t remaining;          //  fires left
    int catchup;                //  norc_catchup_t
    int64_t catchup_window_s;
    int concurrency;            //  NORC_CONCURRENCY_*
    int64_t deadline_s;         //  0 = none
    bool paused;
    norc_us_t last_nominal;     //  last tick handled, 0 if none
    norc_us_t next_nominal;     //  next tick, 0 if none
    int shard;                  //  the shard holding it (fixed when it is written)
    uint64_t lease_owner;       //  scheduler holding its shard, 0 if none
    uint64_t lease_epoch;       //  its shard's fencing token, +1 at every claim
    norc_us_t deleted_at;       //  0 while live
    char *deleted_reason;
    char *task;                 //  task name (read only)
    char *queue;                //  queue name (read only)
    int task_kind;              //  NORC_TASK_* (read only)
} norc_schedule_t;

void norc_schedule_clear (norc_schedule_t *self);

//  Schedules. schedule_add fills id (remaining starts at repetitions).
int norc_store_schedule_add (norc_db_t *db, norc_schedule_t *schedule);
int norc_store_schedule_get (norc_db_t *db, uint64_t id, norc_schedule_t *schedule);
//  A page of schedules, newest first: live ones (all: ended ones too),
//  with ids below before (0: from the newest), at most limit; or the one
//  schedule id (id non-zero).
typedef struct {
    bool all;
    uint64_t id;
    uint64_t before;
    int64_t limit;
} norc_schedule_filter_t;

int norc_store_schedule_list (norc_db_t *db, const norc_schedule_filter_t *filter, norc_rows_t *rows);
int norc_store_schedule_delete (norc_db_t *db, uint64_t id, const char *reason);
int norc_store_schedule_set_paused (norc_db_t *db, uint64_t id, bool paused);

//  Leases (docs/scale.md). A scheduler holds one lease of its
//  own, renewed by scheduler_lease (one row, whatever it holds); *was_live
//  says whether it was live until now (false the first time, and after it
//  expired: others may have taken some of its shards meanwhile).
int norc_store_scheduler_lease (norc_db_t *db, uint64_t owner, norc_us_t now, norc_us_t until, bool *was_live);

//  Schedules are held by shard: NORC_SCHEDULE_SHARDS of them, each owned
//  by one scheduler at an epoch that every claim bumps. A tick is fenced
//  by its schedule's shard (norc_store_tick_batch).
#define NORC_SCHEDULE_SHARDS 1024

typedef struct {
    int shard;
    uint64_t epoch;             //  the epoch the claim gave it
} norc_shard_t;

//  Claim every free shard (no owner, or an owner whose lease expired
//  before now), each one's epoch bumped and marked with the claim's
//  *token, and return those taken (caller frees the array). One short
//  transaction, at most 1,024 rows, whatever the shards hold; an expired
//  owner left with no shard loses its lease row.
int norc_store_shard_claim (norc_db_t *db, uint64_t owner, norc_us_t now, norc_shard_t **shards, size_t *count,
                            uint64_t *token);
//  Mark every shard owner holds with a new *token (epochs unchanged), to
//  load them again; *count: how many
int norc_store_shard_mark_held (norc_db_t *db, uint64_t owner, size_t *count, uint64_t *token);
//  A page of the live, unfinished schedules that owner holds, in id order
//  after `after`, at most limit: those of the shards one claim (or
//  shard_mark_held) marked with token, which took `shards` of them. Each
//  comes with its shard's owner and epoch (caller frees
//  each row with norc_schedule_clear and the array with free). A claim of
//  many shards is read through the table in id order, of a few through
//  the shard index.
int norc_store_schedule_load (norc_db_t *db, uint64_t owner, uint64_t token, size_t shards, uint64_t after,
                              int limit, norc_schedule_t **rows, size_t *nrows);
//  Both: claim the free shards, and load every schedule they hold
int norc_store_schedule_claim (norc_db_t *db, uint64_t owner, norc_us_t now, norc_schedule_t **rows,
                               size_t *count);
//  The ids of the schedules an owner holds that were added, paused,
//  resumed or deleted at or after since (at most 10,000; caller frees)
int norc_store_schedule_changed (norc_db_t *db, uint64_t owner, norc_us_t since, uint64_t **ids, size_t *count);
//  End an owner's lease at once: its shards are free for the others
int norc_store_schedule_release (norc_db_t *db, uint64_t owner);

#endif

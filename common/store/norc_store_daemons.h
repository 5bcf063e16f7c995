//  norc_store_daemons.h - the record's daemons: registration, heartbeats, and what happens when one dies.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_DAEMONS_H_INCLUDED
#define NORC_STORE_DAEMONS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

typedef struct {
    uint64_t id;
    int kind;                   //  NORC_DAEMON_*
    char *host;
    int pid;
    int status;
    uint64_t queue_id;          //  executors
    char *queue;                //  queue name (read only)
    int concurrency;
    norc_us_t heartbeat, started, ended;
    char *reason;
} norc_daemon_t;

void norc_daemon_clear (norc_daemon_t *self);

//  Daemons. register fills id; status RUNNING, started and heartbeat now.
int norc_store_daemon_register (norc_db_t *db, norc_daemon_t *daemon);
//  reported: what the daemon said it holds (an archiver's backlog; the
//  record counts the others' from their instances)
int norc_store_daemon_heartbeat (norc_db_t *db, uint64_t id, int status, int reported, norc_us_t at);
//  Set a status (ended_at too when final) with an optional reason.
int norc_store_daemon_status (norc_db_t *db, uint64_t id, int status, const char *reason);
int norc_store_daemon_get (norc_db_t *db, uint64_t id, norc_daemon_t *daemon);
//  Report rows: id, kind, host, pid, status, queue, concurrency, heartbeat,
//  started, ended, alive, running, succeeded, failed (instance counts ended
//  after since). kind 0 = both; ended before `since` are left out.
int norc_store_daemon_list (norc_db_t *db, int kind, norc_us_t since,
                            norc_us_t alive_after, norc_rows_t *rows);

//  A daemon found dead, and what was done about it in the same transaction.
typedef struct {
    uint64_t id;
    int kind;                   //  NORC_DAEMON_*
    uint64_t *requeued;         //  assigned to it, never started: waiting again
    size_t requeued_count;
    uint64_t *ended;            //  started on it: now ERROR with the reason
    size_t ended_count;
    uint64_t *retried;          //  new attempts of those, by their task's retry policy
    size_t retried_count;
    int leases_released;        //  schedules (as it last reported them) and named leases it held, free now
    int shards_released;        //  a scheduler's shards, free now (docs/scale.md)
} norc_dead_t;

void norc_dead_list_free (norc_dead_t **list, size_t count);

//  Daemons in an active status silent since before `silent_before` become
//  ERROR ("heartbeat lost"); in the same transaction their instances that
//  never started go back to their queue, those that started end ERROR with
//  `reason`, and their schedule and named leases are released. *dead (caller frees
//  with norc_dead_list_free) says what was done.
//  Which of the daemon ids are in the record: exists [i] for ids [i].
int norc_store_daemons_exist (norc_db_t *db, const uint64_t *ids, size_t count, bool *exists);
//  What a daemon recorded dead before `dead_before` still holds by the
//  record (it went on after it was declared dead: a STARTED that came
//  late): its started instances end ERROR (`reason`), its unstarted ones
//  go back to their queue. ended / requeued (caller frees) list them.
int norc_store_daemon_orphans (norc_db_t *db, norc_us_t dead_before, const char *reason,
                               uint64_t **ended, size_t *ended_count, uint64_t **requeued, size_t *requeued_count);
int norc_store_daemon_mark_dead (norc_db_t *db, norc_us_t silent_before, const char *reason,
                                 norc_dead_t **dead, size_t *count);
//  A dead daemon in an error status becomes HANDLED. NORC_CONFLICT when it
//  is alive (heartbeat after alive_after) or not in an error status.
int norc_store_daemon_handle (norc_db_t *db, uint64_t id, const char *by, norc_us_t alive_after);

#endif

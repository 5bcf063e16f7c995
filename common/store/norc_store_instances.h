//  norc_store_instances.h - the record's instances: assignment, start, end, retries, reports.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_INSTANCES_H_INCLUDED
#define NORC_STORE_INSTANCES_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

typedef struct {
    uint64_t id;
    uint64_t task_id;
    uint64_t queue_id;
    uint64_t schedule_id;       //  0 for a manual run
    norc_us_t nominal;          //  tick time, 0 for a manual run
    int attempt;
    int trigger;                //  NORC_TRIGGER_*
    uint64_t job_instance_id;
    uint64_t job_node_id;
    uint64_t executor_id;
    int status;
    norc_us_t enqueued, started, ended;
    bool has_exit;              //  exit_code is meaningful
    int exit_code;
    int signal;
    int64_t cpu_user_us, cpu_sys_us, max_rss_kb;
    char *log_path;
    char *reason;
    int reason_code;            //  norc_why_t: what policy reads (reason is for people)
    char *task;                 //  task name (read only)
    char *queue;                //  queue name (read only)
    char *command;              //  task command (read only)
    int timeout_s;              //  task timeout (read only)
    norc_us_t not_before;       //  a retry waits for its backoff until then (0: no wait)
    uint64_t retry_of;          //  the attempt this one retries, 0 if none
    char *revision;             //  the revision it ran at (recorded with its start), NULL if none
    int task_kind;              //  NORC_TASK_* (read only)
} norc_instance_t;

void norc_instance_clear (norc_instance_t *self);

//  Instances
int norc_store_instance_manual (norc_db_t *db, uint64_t task_id, uint64_t queue_id, uint64_t *id);
int norc_store_instance_get (norc_db_t *db, uint64_t id, norc_instance_t *instance);
//  Instances waiting for an executor (CREATED, not assigned), oldest first,
//  with their task's command and timeout. Caller frees as for
//  schedule_owned.
int norc_store_instance_waiting (norc_db_t *db, norc_instance_t **instances, size_t *count);
//  Instances assigned to an executor more than older_than_us ago and still
//  CREATED (at most 100, oldest first), as instance_waiting gives them.
int norc_store_instance_assigned (norc_db_t *db, uint64_t executor_id, int64_t older_than_us,
                                  norc_instance_t **instances, size_t *count);
//  The dispatch lease an assignment is made under: its holder (the
//  scheduler's daemon id) and epoch. An assignment is written only while
//  the holder holds the "dispatch" lease at that epoch, and records the
//  epoch; a dispatcher that lost the lease writes nothing.
typedef struct {
    uint64_t holder;
    uint64_t epoch;
} norc_fence_t;

//  CREATED -> assigned to executor under the fence. NORC_CONFLICT when no
//  longer CREATED, when an executor holds it already (even the same one,
//  under another epoch), or when the fence does not hold.
int norc_store_instance_assign (norc_db_t *db, uint64_t id, uint64_t executor_id, const norc_fence_t *fence);
//  Assigned to executor_id (and under epoch, when not 0) -> unassigned,
//  while it is still CREATED. NORC_CONFLICT when it is not so held.
int norc_store_instance_unassign (norc_db_t *db, uint64_t id, uint64_t executor_id, uint64_t epoch);
//  Many assignments in one transaction; results [i] gets what
//  instance_assign would return for ids [i]. NORC_OK when committed.
int norc_store_instance_assign_batch (norc_db_t *db, const uint64_t *ids, const uint64_t *executor_ids,
                                      int *results, size_t count, const norc_fence_t *fence);
//  Starts (status RUNNING) and ends (a final status, with exit code,
//  signal, resource use and reason) in one transaction: the aggregator's
//  group commit, and the only way an instance starts or ends (one event is
//  a batch of one). An instance that is already final is left alone and is
//  not an error; so is one that does not exist. A start or an end is taken
//  only from the executor that holds the instance (or when none does, or
//  executor_id is 0). An end creates the next attempt when the task's
//  retry policy says so; retry_ids (count entries, may be
//  NULL) receives each new attempt's id, 0 for none.
int norc_store_instance_apply (norc_db_t *db, const norc_instance_t *events, size_t count, uint64_t *retry_ids);
//  Report rows: id, task, queue, schedule_id, nominal, attempt, executor_id,
//  status, enqueued, started, ended, exit_code. Ended after `since` (0 =
//  all) or not ended; only failures when failed_only.
//  For the event stream: id, schedule_id (0: none), nominal, attempt,
//  task, queue, host (its executor's, '' if none) and executor_id of each
//  instance named (in no particular order; unknown ids are left out).
int norc_store_instance_describe (norc_db_t *db, const uint64_t *ids, size_t count, norc_rows_t *rows);
int norc_store_instance_list (norc_db_t *db, norc_us_t since, bool failed_only,
                              int limit, norc_rows_t *rows);

//  Which instances a report lists, newest first (keyset: before).
typedef struct {
    norc_us_t since;            //  not ended, or ended at or after it (0: any)
    norc_us_t until;            //  enqueued at or before it (0: any)
    int status_min, status_max; //  a status range (0, 0: any)
    const char *queue;          //  NULL: any
    const char *task;
    const char *host;           //  its executor's host
    uint64_t before;            //  ids below it (0: from the newest)
    int limit;                  //  at most (0: a million)
} norc_instance_filter_t;

//  The instances the filter lets through, with their executor's host.
int norc_store_instance_query (norc_db_t *db, const norc_instance_filter_t *filter, norc_rows_t *rows);
//  A waiting instance (CREATED, not assigned), or a job's run (on no
//  executor), ends KILLED with reason. NORC_CONFLICT when it is no longer
//  waiting, or has an executor.
int norc_store_instance_cancel (norc_db_t *db, uint64_t id, const char *reason);
//  A failed instance becomes HANDLED. NORC_CONFLICT when it is not failed.
int norc_store_instance_handle (norc_db_t *db, uint64_t id, const char *by);
//  Record the revision (get-or-create by info) on an instance.
int norc_store_instance_revision (norc_db_t *db, uint64_t id, const char *info);

#endif

//  norc_store.h - every operation on Norc's durable record. Each function is
//  one business operation and one transaction (retried by norc_db_txn on a
//  deadlock or a lost connection), with its SQL right above it in
//  norc_store.c. Callers never see SQL or MySQL types.
//
//  Return codes: NORC_OK; NORC_NOTFOUND when the thing named does not exist
//  (or, for tick writes, when the caller's lease is no longer current);
//  NORC_CONFLICT when a unique name or tick key is taken or the row is in a
//  state that forbids the change; NORC_AGAIN when the database stayed away
//  through every retry; NORC_ERROR otherwise (norc_db_errstr says why).
#ifndef NORC_STORE_H_INCLUDED
#define NORC_STORE_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"
#include "norc_dag.h"

enum { NORC_QUEUE_DB = 1, NORC_QUEUE_SQS = 2, NORC_QUEUE_GROUP = 3 };
enum { NORC_TASK_COMMAND = 1, NORC_TASK_JOB = 2 };
enum { NORC_SCHED_PERIOD = 1, NORC_SCHED_CRON = 2 };
enum { NORC_TRIGGER_SCHEDULE = 1, NORC_TRIGGER_MANUAL = 2, NORC_TRIGGER_JOB = 3, NORC_TRIGGER_RETRY = 4 };
enum { NORC_TICK_SKIPPED = 2, NORC_TICK_MISSED = 3 };
enum { NORC_DAEMON_SCHEDULER = 1, NORC_DAEMON_EXECUTOR = 2 };
enum { NORC_CONCURRENCY_ALLOW = 0, NORC_CONCURRENCY_FORBID = 1, NORC_CONCURRENCY_REPLACE = 2 };
enum { NORC_CONTROL_PENDING = 1, NORC_CONTROL_DELIVERED = 2, NORC_CONTROL_DONE = 3, NORC_CONTROL_REFUSED = 4 };

typedef struct {
    uint64_t id;
    char *name;
    int kind;                   //  NORC_QUEUE_*
} norc_queue_t;

typedef struct {
    uint64_t id;
    char *name;
    int kind;                   //  NORC_TASK_*
    char *description;          //  may be NULL
    char *command;              //  command tasks
    int timeout_s;              //  0 = none
    int64_t log_max_bytes;      //  its log's cap; 0 = the executor's default (executor.log_max_bytes)
    char *cwd;                  //  NULL = the executor's
    int nice;
    int retry_max;              //  extra attempts after the first
    int retry_backoff_s;        //  first retry delay, doubled each time
    int retry_cap_s;            //  longest delay
    norc_strmap_t env;          //  extra environment
    norc_us_t deleted_at;       //  0 while live
} norc_task_t;

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
    uint64_t lease_owner;       //  scheduler holding it, 0 if none
    norc_us_t lease_until;
    uint64_t lease_epoch;       //  fencing token, +1 at every claim
    norc_us_t deleted_at;       //  0 while live
    char *deleted_reason;
    char *task;                 //  task name (read only)
    char *queue;                //  queue name (read only)
    int task_kind;              //  NORC_TASK_* (read only)
} norc_schedule_t;

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
    char *task;                 //  task name (read only)
    char *queue;                //  queue name (read only)
    char *command;              //  task command (read only)
    int timeout_s;              //  task timeout (read only)
    norc_us_t not_before;       //  a retry waits for its backoff until then (0: no wait)
    uint64_t retry_of;          //  the attempt this one retries, 0 if none
    char *revision;             //  the revision it ran at (recorded with its start), NULL if none
    int task_kind;              //  NORC_TASK_* (read only)
} norc_instance_t;

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

void norc_queue_clear (norc_queue_t *self);
void norc_task_clear (norc_task_t *self);
void norc_schedule_clear (norc_schedule_t *self);
void norc_instance_clear (norc_instance_t *self);
void norc_daemon_clear (norc_daemon_t *self);

//  Queues and groups (one name space)
int norc_store_queue_add (norc_db_t *db, const char *name, int kind, uint64_t *id);
int norc_store_queue_get (norc_db_t *db, const char *name, norc_queue_t *queue);
//  Rows: id, name, kind, waiting (instances not yet started), executors
//  (alive: heartbeat after alive_after).
int norc_store_queue_list (norc_db_t *db, norc_us_t alive_after, norc_rows_t *rows);
//  How many live executors (heard from after alive_after, not ended) take
//  work from a queue: those on it and those on a group it is in.
int norc_store_queue_servers (norc_db_t *db, uint64_t queue_id, norc_us_t alive_after, int64_t *count);
int norc_store_queue_rm (norc_db_t *db, const char *name);
//  A group of existing (non-group) queues with priorities (lower first).
int norc_store_group_add (norc_db_t *db, const char *name, const char **queues,
                          const int *priorities, size_t count, uint64_t *id);
//  Rows: queue_id, queue, priority, in serving order.
int norc_store_group_members (norc_db_t *db, const char *group, norc_rows_t *rows);

//  Tasks. task_add fills task->id.
int norc_store_task_add (norc_db_t *db, norc_task_t *task);
//  By name, or by "#ID".
int norc_store_task_get (norc_db_t *db, const char *name, norc_task_t *task);
int norc_store_task_list (norc_db_t *db, norc_rows_t *rows);
//  Soft delete; NORC_CONFLICT while live schedules use it.
int norc_store_task_rm (norc_db_t *db, const char *name);

//  Schedules. schedule_add fills id (remaining starts at repetitions).
int norc_store_schedule_add (norc_db_t *db, norc_schedule_t *schedule);
int norc_store_schedule_get (norc_db_t *db, uint64_t id, norc_schedule_t *schedule);
int norc_store_schedule_list (norc_db_t *db, bool with_deleted, norc_rows_t *rows);
int norc_store_schedule_delete (norc_db_t *db, uint64_t id, const char *reason);
int norc_store_schedule_set_paused (norc_db_t *db, uint64_t id, bool paused);

//  Leases. claim takes up to `limit` live schedules that nobody holds or
//  whose lease expired before `now`, bumping each one's epoch; *claimed
//  says how many. owned lists what the owner holds (caller frees each with
//  norc_schedule_clear and the array with free; finished schedules are
//  left out). renew extends the
//  owner's leases; release gives them all up.
int norc_store_schedule_claim (norc_db_t *db, uint64_t owner, norc_us_t now,
                               norc_us_t lease_until, int limit, int *claimed);
int norc_store_schedule_owned (norc_db_t *db, uint64_t owner,
                               norc_schedule_t **schedules, size_t *count);
int norc_store_schedule_renew (norc_db_t *db, uint64_t owner, norc_us_t lease_until, int *renewed);
int norc_store_schedule_release (norc_db_t *db, uint64_t owner, int *released);

//  A tick, written by the holder of the schedule's current lease epoch.
typedef struct {
    uint64_t schedule_id;
    uint64_t task_id;           //  the schedule's task
    uint64_t queue_id;          //  the schedule's queue
    uint64_t owner;             //  scheduler
    uint64_t epoch;             //  lease epoch it holds
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
//  -> RUNNING. Idempotent; NORC_CONFLICT when already final.
int norc_store_instance_start (norc_db_t *db, uint64_t id, uint64_t executor_id, norc_us_t started);
//  -> final status with exit code, signal, resource use and reason from
//  *instance. Idempotent: NORC_CONFLICT when it was already final.
int norc_store_instance_end (norc_db_t *db, const norc_instance_t *instance);
//  Many starts and ends in one transaction (the aggregator's group commit).
//  An instance that is already final is left alone and is not an error.
//  An end creates the next attempt when the task's retry policy says so
//  (also in norc_store_instance_end); retry_ids (count entries, may be
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
//  A waiting instance (CREATED, not assigned), or a job's run (on no
//  executor), ends KILLED with reason. NORC_CONFLICT when it is no longer
//  waiting, or has an executor.
int norc_store_instance_cancel (norc_db_t *db, uint64_t id, const char *reason);
//  A failed instance becomes HANDLED. NORC_CONFLICT when it is not failed.
int norc_store_instance_handle (norc_db_t *db, uint64_t id, const char *by);
//  Record the revision (get-or-create by info) on an instance.
int norc_store_instance_revision (norc_db_t *db, uint64_t id, const char *info);

//  Daemons. register fills id; status RUNNING, started and heartbeat now.
int norc_store_daemon_register (norc_db_t *db, norc_daemon_t *daemon);
int norc_store_daemon_heartbeat (norc_db_t *db, uint64_t id, int status, norc_us_t at);
//  Set a status (ended_at too when final) with an optional reason.
int norc_store_daemon_status (norc_db_t *db, uint64_t id, int status, const char *reason);
int norc_store_daemon_get (norc_db_t *db, uint64_t id, norc_daemon_t *daemon);
//  Report rows: id, kind, host, pid, status, queue, concurrency, heartbeat,
//  started, ended, alive, running, succeeded, failed (instance counts ended
//  after since). kind 0 = both; ended before `since` are left out.
int norc_store_daemon_list (norc_db_t *db, int kind, norc_us_t since,
                            norc_us_t alive_after, norc_rows_t *rows);
//  Named leases (table leases): one holder at a time. Takes the lease for
//  `holder` until `until` when it is free, expired or already held by it;
//  *held says whether it now holds it, *epoch the lease's epoch (it goes up
//  whenever the holder changes).
int norc_store_lease_acquire (norc_db_t *db, const char *name, uint64_t holder, norc_us_t now,
                              norc_us_t until, bool *held, uint64_t *epoch);
//  Gives the lease up if `holder` holds it.
int norc_store_lease_release (norc_db_t *db, const char *name, uint64_t holder);

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
    int leases_released;        //  schedules and named leases it held, free now
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

//  Control requests
int norc_store_control_add (norc_db_t *db, uint64_t daemon_id, int request,
                            const char *by, uint64_t *id);
//  Pending or delivered requests for a daemon, oldest first: rows id,
//  request, requested_by.
int norc_store_control_pending (norc_db_t *db, uint64_t daemon_id, norc_rows_t *rows);
int norc_store_control_mark (norc_db_t *db, uint64_t id, int state, const char *reason);

//  Jobs. A job is a task of kind NORC_TASK_JOB whose nodes each run a
//  (command) task, with dependency edges between nodes.
typedef struct {
    uint64_t id;                //  job_nodes.id
    char *name;                 //  unique within its job
    uint64_t task_id;
    char *task;                 //  task name (read only)
} norc_job_node_t;

typedef struct {
    norc_job_node_t *nodes;
    size_t node_count;
    norc_dag_edge_t *edges;     //  node indexes
    size_t edge_count;
} norc_job_graph_t;

void norc_job_graph_clear (norc_job_graph_t *self);

//  Define a job: the task (kind set here; id set on success) with its nodes
//  (task_id of each set by the caller) and edges, checked by the caller
//  with norc_dag_check. NORC_CONFLICT when the name is taken.
int norc_store_job_add (norc_db_t *db, norc_task_t *job, const norc_job_graph_t *graph);
//  The graph of job task `job_id`, nodes in definition order.
int norc_store_job_get (norc_db_t *db, uint64_t job_id, norc_job_graph_t *graph);

//  What one step of a job run did (norc_store_job_advance).
typedef struct {
    int status;                 //  the job instance's status after the step
    bool started;               //  it went RUNNING in this step
    bool ended;                 //  it ended in this step
    norc_us_t started_at;
    int timeout_s;              //  the job's timeout, 0 for none
    char *reason;               //  why it ended, if it did (NULL for SUCCESS)
    norc_instance_t *created;   //  node instances created, waiting for an executor
    size_t created_count;
    norc_instance_t *closed;    //  node instances ended here: SKIPPED, or KILLED before starting
    size_t closed_count;
    uint64_t *stop;             //  running node instances of an ended job: to be killed
    size_t stop_count;
    uint64_t *active;           //  node instances waiting or running after the step
    size_t active_count;
} norc_job_step_t;

void norc_job_step_clear (norc_job_step_t *self);

//  One step of job instance `id`, in one transaction that locks its row:
//  a waiting job starts; nodes whose parents all succeeded get instances
//  on the job's queue; nodes downstream of a failed one are recorded
//  SKIPPED; when nothing is left to run the job ends SUCCESS or FAILURE
//  (its reason names the failed nodes). A job past its timeout (`now`
//  against its start) ends TIMEDOUT. An ended job's waiting nodes end
//  KILLED, the nodes never started are SKIPPED, and its running nodes are
//  listed in stop. Safe to run any number of times. NORC_NOTFOUND when
//  there is no such instance, NORC_CONFLICT when it is not a job's.
int norc_store_job_advance (norc_db_t *db, uint64_t id, norc_us_t now, norc_job_step_t *step);
//  Job instances started and not ended (ids, caller frees).
int norc_store_job_running (norc_db_t *db, uint64_t **ids, size_t *count);

#endif

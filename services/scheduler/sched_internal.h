//  sched_internal.h - what the scheduler's parts share: the scheduler, a
//  schedule held, a waiting instance, an executor, and the functions one
//  part calls in another. Nothing outside services/scheduler includes it.
//
//  The parts: scheduler.c (the daemon: its link to the aggregator,
//  notifications, resync, start and stop), sched_ticks.c (schedules held
//  under lease, the heap, each round of ticks), sched_dispatch.c (waiting
//  instances, executors and credits, assignments under the dispatch
//  lease), sched_jobs.c (job runs), and sched_heap (the min-heap).
#ifndef SCHED_INTERNAL_H_INCLUDED
#define SCHED_INTERNAL_H_INCLUDED
#include "scheduler.h"
#include "sched_heap.h"
#include "norc_cron.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_service.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include "norc_control.h"
#include "norc_msg.h"
#include "norc_link.h"
#include "norc_store.h"
#include "norc_timing.h"
#include "norc_zmq.h"
#include <unistd.h>

#define PLAN_CAP 64

typedef struct {
    sched_heap_node_t node;     //  position in the heap; node.item = self
    norc_schedule_t row;        //  as loaded
    norc_cron_t *cron;          //  parsed expression, cron schedules
    norc_timing_t timing;
} sched_schedule_t;

typedef struct {
    uint64_t instance_id;
    uint64_t task_id;
    uint64_t schedule_id;
    int attempt;
    norc_us_t nominal;
    norc_us_t not_before;       //  a retry's backoff: not handed out before (wall clock)
    bool job;                   //  a job's run: coordinated here, never handed to an executor
    char *queue;
    char *log_path;
} sched_work_t;

//  The schedules of one claim (or, token 0, of every shard held), loaded
//  a page at a time
typedef struct {
    uint64_t token;             //  the claim's
    size_t shards;              //  how many shards it took
    uint64_t after;             //  loaded up to this schedule id
} sched_load_t;

typedef struct {
    zframe_t *routing_id;
    uint64_t executor_id;
    char *queue;                //  queue or group it serves
    char **members;             //  queues in priority order
    size_t member_count;
    int credits;
    uint64_t last_pick;         //  when it was last given work (a counter)
    norc_us_t last_seen;        //  monotonic
    bool dead;                  //  recorded dead: it gets no work until it registers again
    bool sqs;                   //  it serves an sqs queue (only a bridge may)
    bool mismatched;            //  an executor on an sqs queue, or a bridge on another: no work
} sched_exec_t;

struct _scheduler_t {
    norc_config_t *config;      //  not owned
    norc_db_t *db;
    uint64_t id;                //  daemons.id
    uint64_t dispatch_epoch;    //  the dispatch lease's epoch while it is held: the fence of every assignment
    char host [256];
    norc_link_t *link;          //  to the aggregator: registration, heartbeats, events, control
    zsock_t *notify;            //  SUB to the aggregator's stream
    zsock_t *dispatch;          //  ROUTER for executors, while dispatching
    zloop_t *loop;
    int fire_fd;                //  timerfd (CLOCK_REALTIME, absolute): the head of the heap is due, -1 before start
    int load_timer;             //  zloop timer id of the next load while shards are left to load, -1 when none
    sched_load_t *loading;      //  claims whose schedules are not all loaded yet, oldest first
    size_t loading_count;
    norc_us_t changes_since;    //  wall clock: changes to held schedules seen up to here (less a margin)
    sched_heap_t *heap;
    zhashx_t *schedules;        //  id -> sched_schedule_t
    zhashx_t *queues;           //  name -> zlistx of sched_work_t
    zlistx_t *delayed;          //  sched_work_t waiting for its not_before
    zhashx_t *known;            //  instance id -> monotonic time (queued or dispatched)
    zhashx_t *tasks;            //  task id -> norc_task_t
    zhashx_t *executors;        //  routing id hex -> sched_exec_t
    zhashx_t *jobs;             //  running job instance id -> timeout deadline (wall clock, 0: none)
    zhashx_t *job_of;           //  node instance id -> its job instance id
    zsock_t *api;               //  DEALER to the aggregator's API (stopping nodes of an ended job)
    int64_t lease_ms, period_ms, failure_ms, grace_ms;
    norc_us_t heartbeat_sent;   //  monotonic time of the last HEARTBEAT
    uint64_t ticks_fired;
    int status;                 //  RUNNING or PAUSED; ENDED or KILLED at the end
    bool standing_by;           //  another scheduler holds the dispatch lease
    uint64_t picks;             //  executors picked so far
};

typedef struct {
    sched_work_t *work;
    sched_exec_t *exec;
    zlistx_t *fifo;
} s_pick_t;

//  --------------------------------------------------------------------------
//  scheduler.c: the daemon (its link to the aggregator, notifications, resync, start and stop)

char *sched_key (uint64_t id, char *buf, size_t size);

//  --------------------------------------------------------------------------
//  sched_ticks.c: schedules held under lease, the heap, planning and writing each round of ticks

void sched_ticks_destroy (void **item);

//  The one tick timer (a timerfd on the loop, on the wall clock), made at
//  start, and set to the head of the heap (after every fire, and whenever
//  the head may have changed)
int  sched_ticks_start (scheduler_t *self);
void sched_ticks_arm (scheduler_t *self);

//  Renew, claim, and load what is held.
void sched_ticks_lease (scheduler_t *self);

int sched_ticks_on_lease (zloop_t *loop, int timer_id, void *arg);

//  A schedule changed through norcctl: reload that one now (a new one is
//  read alone, or its shard claimed when free: what the scheduler holds
//  already is not read again).
//  Id 0: a dead scheduler's schedules were released: claim them now.
void sched_ticks_changed (scheduler_t *self, uint64_t id);

//  Forget every schedule held (they are taken again from MySQL)
void sched_ticks_forget_all (scheduler_t *self, const char *why);

//  --------------------------------------------------------------------------
//  sched_dispatch.c: waiting instances, executors and their credits, assignments (the dispatch lease)

void sched_dispatch_work_destroy (void **item);

//  sched_ticks.c: the metrics (declared at start; a schedule's labels)
void sched_metrics_declare (int64_t per_schedule);
void sched_metric_labels (const sched_schedule_t *s, const char *outcome, char *out, size_t size);

void sched_dispatch_queue_destroy (void **item);

void sched_dispatch_exec_destroy (void **item);

void sched_dispatch_task_destroy (void **item);

void sched_dispatch_mark_known (scheduler_t *self, uint64_t instance_id);

void sched_dispatch_enqueue (scheduler_t *self, sched_work_t *work, bool front);

sched_work_t *sched_dispatch_work (const norc_instance_t *inst);

norc_task_t *sched_dispatch_task (scheduler_t *self, uint64_t task_id);

//  Send one recorded assignment. False when the executor is gone.
bool sched_dispatch_send_assign (scheduler_t *self, sched_exec_t *exec, sched_work_t *work, norc_task_t *task);

//  The executor serving this queue with the most free credits (the least
//  loaded), the one given work longest ago among equals, so work spreads
//  over every host.
sched_exec_t *sched_dispatch_free_executor (scheduler_t *self, const char *queue);

void sched_dispatch (scheduler_t *self);

//  Add every waiting instance the scheduler does not know yet.
void sched_dispatch_resync (scheduler_t *self);

int sched_dispatch_handle (zloop_t *loop, zsock_t *sock, void *arg);

//  Take, keep or lose the dispatch lease, binding or closing the dispatch
//  socket to match.
void sched_dispatch_lease (scheduler_t *self, norc_us_t now, norc_us_t until);

//  --------------------------------------------------------------------------
//  sched_jobs.c: job runs coordinated by the dispatcher

int sched_jobs_handle_api (zloop_t *loop, zsock_t *sock, void *arg);

void sched_jobs_advance (scheduler_t *self, uint64_t job_id, bool stop);

//  An instance ended: a step for its job, if it is a job's node, or for
//  the job itself, if someone else ended it (norcctl instance kill)
void sched_jobs_instance_ended (scheduler_t *self, uint64_t id);

//  Every running job takes a step (after a new dispatcher takes over, and
//  as the backstop for a lost notification)
void sched_jobs_resync (scheduler_t *self);

#endif

//  exec_internal.h - what the executor's parts share: the executor, a run
//  and a log, and the functions one part calls in another. Nothing outside
//  services/executor includes it.
//
//  The parts: executor.c (the daemon: dispatch and credits, control,
//  heartbeats, the revision hook, adopting a dead executor's spool),
//  exec_run.c (run supervision: start, output, timeout, kill, end, what a
//  task leaves behind), exec_log.c (each instance's log, in memory or
//  spooled, streamed to the archiver), and the modules they use:
//  exec_child (starting a command), exec_spool (the disk spool),
//  exec_cgroup (a cgroup per instance).
#ifndef EXEC_INTERNAL_H_INCLUDED
#define EXEC_INTERNAL_H_INCLUDED
#include "executor.h"
#include "exec_child.h"
#include "exec_cgroup.h"
#include "norc_link.h"
#include "exec_spool.h"
#include "norc_log.h"
#include "norc_service.h"
#include "norc_mem.h"
#include "norc_control.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WINDOW (1024 * 1024)        //  unacknowledged log bytes in flight
#define CHUNK (64 * 1024)

//  A log is held in memory until it is a heartbeat period old or
//  LOG_MEMORY bytes long, then spooled to a file (see "Logs" in executor.c)
#define LOG_MEMORY (64 * 1024)

typedef struct {
    uint64_t instance_id;
    char *path;                 //  log path at the archiver
    char *spool;                //  spool file path, NULL while the log is in memory
    int fd;                     //  spool file, -1 when closed
    char *memory;               //  the log while it has no spool file
    size_t memory_size;         //  allocated
    norc_us_t opened;           //  monotonic time the log began
    bool append;                //  closing lines only, for the end of what the archiver holds
    uint64_t written, sent, acked;
    bool eof;                   //  nothing more will be written
    bool eof_sent;              //  the chunk marked eof went out
    norc_us_t progress;         //  monotonic time of the last ack or send
} exec_log_t;

//  executor_t: see struct _executor_t below (declared in executor.h)

typedef struct {
    executor_t *owner;          //  the executor running it
    uint64_t instance_id;
    uint64_t executor_id;       //  the id it started under: its end is reported under it (after
                                //  registering again, the executor has another)
    char *task;
    exec_child_t child;
    exec_log_t *log;
    norc_us_t started;          //  wall clock
    uint64_t spawned_after;     //  exec_spool_clock before the spawn (its run table record)
    int timeout_timer;          //  -1 when none
    int kill_timer;
    bool timed_out;
    bool interrupted;
    char *killed_by;            //  an instance kill request: who asked
    bool in_cgroup;             //  it runs in a cgroup of its own (exec_cgroup)
    bool exited;
    int wait_status;
    struct rusage usage;
    int64_t log_max;            //  its log's cap: the task's, or executor.log_max_bytes (0: none)
    bool log_max_own;           //  the cap is the task's own
    bool spool_full;            //  its head was closed early: the spool reached spool.max_bytes
    uint64_t output;            //  bytes the task wrote
    uint64_t kept;              //  of them, in the log as they came (the head)
    char *tail;                 //  past the log's limit: a ring of its last output
    size_t tail_size, tail_len, tail_at;    //  its size, bytes in it, where the next goes
    uint64_t cut;               //  bytes neither in the head nor in the tail
    norc_msg_t *started_msg;    //  its STARTED, held back for up to STARTED_HOLD_MS
} exec_run_t;

//  A STARTED is held back this long, so that a command that ends sooner
//  reaches the aggregator with its start and end together: one row
//  written once instead of twice. The start time it records is exact.
#define STARTED_HOLD_MS 10

//  How many instances an executor remembers having started, so that an
//  ASSIGN of one of them (a second dispatcher's, a resend) never starts it
//  again: far more than a dispatcher can have in flight.
#define STARTED_MEMORY 65536

struct _executor_t {
    norc_config_t *config;      //  not owned
    char *queue;
    int concurrency;
    uint64_t id;
    char host [256];
    char *spool_dir;            //  spool.dir: the root of every executor's slot
    exec_spool_t *spool;        //  our slot
    exec_cgroup_t *cgroup;      //  a cgroup per instance; NULL where the host does not allow it
    bool cgroup_failed;         //  an instance could not be put in one (said once)
    exec_identity_t run_as;     //  executor.run_as: the user tasks run as (no name: ours)
    zsock_t *dispatch;          //  DEALER to the scheduler
    norc_link_t *link;          //  to the aggregator: registration, heartbeats, events, control
    zsock_t *logs;              //  DEALER to the archiver
    zloop_t *loop;
    int sigfd;                  //  SIGCHLD signalfd
    int started_timer;          //  sends the STARTEDs held back, -1 when none are
    int credit_due;             //  slots freed in this wake-up, granted at its end
    zhashx_t *runs;             //  instance id -> exec_run_t
    zhashx_t *started;          //  instance id -> every instance started lately (the last STARTED_MEMORY),
                                //  with how it ended once it did (exec_run.c)
    uint64_t *started_ring;     //  the same ids in the order they started, to forget the oldest
    size_t started_next;
    zhashx_t *logs_open;        //  instance id -> exec_log_t
    int64_t period_ms, grace_ms, drain_ms;
    int64_t failure_ms;         //  heartbeat.failure_ms: silent this long, it is recorded dead
    norc_us_t beat_at;          //  monotonic: the last heartbeat sent
    norc_us_t distrust_until;   //  monotonic: after a freeze, ASSIGNs are given back until then
    int64_t log_max;            //  executor.log_max_bytes (0: no limit)
    int64_t spool_max;          //  spool.max_bytes: output waiting for the archiver (0: no limit)
    norc_us_t spool_full_said;  //  monotonic: when the full spool was last logged
    uint64_t completed;
    bool benchmark_instant;     //  benchmark only: complete at once, spawn nothing
    int status;                 //  RUNNING, PAUSED, STOPPING; KILLED or ENDED at the end
    bool killing;               //  instances are being interrupted (KILL, drain over, 2nd signal)
    const char *end_reason;     //  for the final DAEMON-STATUS
    char revision [65];         //  the revision hook's last answer ("" if none)
    norc_us_t revision_at;      //  monotonic time it was asked, 0 never
    const char *revision_command;   //  executor.revision_command ("" when none; the config's)
    norc_us_t revision_every;   //  executor.revision_every_s, in us
    exec_child_t revision_child;    //  the hook while it runs (revision_busy)
    bool revision_busy;
    char revision_out [256];    //  what it printed so far
    size_t revision_used;
    int revision_timer;         //  its 5 s, -1 when none
    bool done;                  //  the loop is to end
};

//  --------------------------------------------------------------------------
//  executor.c: the daemon (dispatch and credits, control, heartbeat, revision hook, adoption of a dead executor's spool)

char *executor_key (uint64_t id, char *buf, size_t size);

void executor_send_credit (executor_t *self, int credits);

void executor_flush_credit (executor_t *self);

//  Ask the hook again when its answer is a minute old (and it is not
//  being asked already)
void executor_revision_ask (executor_t *self);

//  Give an assigned instance back to the dispatcher (it waits again).
void executor_release (executor_t *self, uint64_t instance_id, const char *reason);

//  The machine cannot start work (no spool, no processes, no file
//  descriptors): SUSPENDED, no new work until a RESUME request.
void executor_suspend (executor_t *self, const char *why);

//  --------------------------------------------------------------------------
//  exec_run.c: run supervision (start, output, timeout, kill, end, what a task leaves)

void exec_run_destroy (void **item);

//  Started in this process lately?
bool exec_run_started_before (executor_t *self, uint64_t instance_id);

void exec_run_remember_started (executor_t *self, uint64_t instance_id);
void exec_run_remembered_free (void **item);     //  (the destructor of executor.started)
//  An instance handed to this executor again after it ran here (the record
//  did not take its end: it was reported by an id recorded dead since, or
//  lost): its end reported again, as this executor's, so the record has
//  how the one run ended. False when it has not ended here.
bool exec_run_report_again (executor_t *self, uint64_t instance_id);

//  Processes that tasks left outside their process groups (setsid) and
//  whose parents exited are this executor's children (it is their
//  subreaper). Each one whose instance no longer runs is ended, with what
//  it started in its own group. Returns how many belonged to `instance_id`.
int exec_run_end_orphans (executor_t *self, uint64_t instance_id);

//  Whether an instance still runs here (for the cgroup sweep)
bool exec_run_running (uint64_t instance_id, void *arg);

int exec_run_handle_sigchld (zloop_t *loop, zmq_pollitem_t *item, void *arg);

void exec_run_start (executor_t *self, norc_assign_t *a);

//  Benchmark-only: report the instance started and succeeded without
//  running anything, to measure Norc's own pipeline. Never used by tests.
void exec_run_complete_at_once (executor_t *self, norc_assign_t *a);

//  Interrupt every running instance: SIGTERM to its group, SIGKILL after
//  the grace period; they end INTERRUPTED and the executor KILLED.
void exec_run_interrupt_all (executor_t *self, const char *log_line, const char *reason);

//  KILL for one instance: stop it, report it KILLED; the executor goes on.
const char *exec_run_control_instance (executor_t *self, const norc_control_t *c);

//  A spool made again has an empty run table: record the children still
//  running, so that a successor can stop them if this executor dies.
void exec_run_record_all (executor_t *self);

//  --------------------------------------------------------------------------
//  exec_log.c: each instance's log, in memory or spooled, streamed to the archiver

void exec_log_destroy (void **item);

//  Move a log held in memory to a spool file. NORC_OK when it has one.
int exec_log_spool (exec_spool_t *spool, exec_log_t *log);

void exec_log_write (exec_spool_t *spool, exec_log_t *log, const void *data, size_t size);

void exec_log_line (exec_spool_t *spool, exec_log_t *log, const char *level, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  A new log for an instance (in memory), or one adopted from an executor
//  that died (its spool file `existing`), continued at its end.
exec_log_t *exec_log_open (executor_t *self, uint64_t instance_id, const char *path, const char *existing);

void exec_log_pump_one (executor_t *self, exec_log_t *log);

void exec_log_pump (executor_t *self);

int exec_log_handle (zloop_t *loop, zsock_t *sock, void *arg);

//  Bytes of output the archiver does not hold yet (in the spool or in
//  memory), over every log
uint64_t exec_log_pending (executor_t *self);

#endif

//  executor.c - the executor's loop.
//
//  Work: the executor says HELLO to the scheduler (again every heartbeat
//  period, which also resyncs its credits) and grants the slots that free
//  in each wake-up with one CREDIT. An ASSIGN beyond its free slots is
//  given back (RELEASE), so it never holds work it cannot start.
//
//  Children: exec_child starts each command in its own process group with
//  stdout and stderr on one pipe, read by the loop. SIGCHLD is blocked and
//  read from a signalfd, so reaping is event-driven; wait4 gives each
//  child's exit status and resource use. A timeout sends SIGTERM to the
//  group and SIGKILL after executor.kill_grace_ms.
//
//  Logs: every byte (Norc's own lines and the command's output) is sent to
//  the archiver in chunks at offsets; the archiver acknowledges the offset
//  it holds, and unacknowledged bytes are sent again. A log is held in
//  memory while it is young and short; once it is a heartbeat period old
//  or LOG_MEMORY bytes long (a long run, a chatty one, or the archiver is
//  slow or away) it is written to a spool file and continues there, so
//  output survives an archiver restart and an executor restart. A short
//  command's log never touches the disk. A spool file is emptied and kept
//  for reuse once its log is complete at the archiver.
//
//  Events: STARTED and ENDED go through an outbox to the aggregator and are
//  resent until acknowledged.
//
//  Restart: the spool is a slot of its own under spool.dir (exec_spool);
//  what an executor that died left there is adopted at start: the process
//  groups of its lost runs are stopped, those instances are reported ERROR,
//  and every log it spooled is sent to the archiver complete.
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
//  LOG_MEMORY bytes long, then spooled to a file (see "Logs" above)
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
} s_log_t;

typedef struct _executor_t executor_t;

typedef struct {
    executor_t *owner;          //  the executor running it
    uint64_t instance_id;
    uint64_t executor_id;       //  the id it started under: its end is reported under it (after
                                //  registering again, the executor has another)
    char *task;
    exec_child_t child;
    s_log_t *log;
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
} s_run_t;

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
    zsock_t *dispatch;          //  DEALER to the scheduler
    norc_link_t *link;          //  to the aggregator: registration, heartbeats, events, control
    zsock_t *logs;              //  DEALER to the archiver
    zloop_t *loop;
    int sigfd;                  //  SIGCHLD signalfd
    int started_timer;          //  sends the STARTEDs held back, -1 when none are
    int credit_due;             //  slots freed in this wake-up, granted at its end
    zhashx_t *runs;             //  instance id -> s_run_t
    zhashx_t *started;          //  instance id -> 1: every instance started lately (the last STARTED_MEMORY)
    uint64_t *started_ring;     //  the same ids in the order they started, to forget the oldest
    size_t started_next;
    zhashx_t *logs_open;        //  instance id -> s_log_t
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
    exec_child_t revision_child;    //  the hook while it runs (revision_busy)
    bool revision_busy;
    char revision_out [256];    //  what it printed so far
    size_t revision_used;
    int revision_timer;         //  its 5 s, -1 when none
    bool done;                  //  the loop is to end
};

static char *
s_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
    return buf;
}

static int s_log_spool (exec_spool_t *spool, s_log_t *log);

static void
s_log_destroy (void **item)
{
    s_log_t *log = (s_log_t *) *item;
    if (log) {
        if (log->fd >= 0)
            close (log->fd);
        free (log->path);
        free (log->spool);
        free (log->memory);
        free (log);
        *item = NULL;
    }
}

static void
s_run_destroy (void **item)
{
    s_run_t *run = (s_run_t *) *item;
    if (run) {
        if (run->child.output_fd >= 0)
            close (run->child.output_fd);
        norc_msg_destroy (&run->started_msg);
        free (run->tail);
        free (run->killed_by);
        free (run->task);
        free (run);
        *item = NULL;
    }
}

void
executor_set_benchmark_instant (executor_t *self)
{
    self->benchmark_instant = true;
    norc_log_warnx ("benchmark mode: instances are reported done without being run");
}

void
executor_block_sigchld (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGCHLD);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
}

executor_t *
executor_new (norc_config_t *config, const char *queue, int concurrency)
{
    executor_t *self = (executor_t *) norc_calloc (1, sizeof (executor_t));
    self->config = config;
    self->queue = norc_strdup (queue);
    self->concurrency = concurrency;
    self->sigfd = -1;
    self->started_timer = -1;
    self->revision_timer = -1;
    self->status = NORC_ST_RUNNING;
    self->period_ms = norc_config_int (config, "heartbeat.period_ms");
    self->failure_ms = norc_config_int (config, "heartbeat.failure_ms");
    self->grace_ms = norc_config_int (config, "executor.kill_grace_ms");
    self->drain_ms = norc_config_int (config, "executor.drain_ms");
    self->log_max = norc_config_int (config, "executor.log_max_bytes");
    self->spool_max = norc_config_int (config, "spool.max_bytes");
    self->spool_dir = norc_strdup (norc_config_str (config, "spool.dir"));
    self->runs = zhashx_new ();
    self->started = zhashx_new ();
    self->started_ring = (uint64_t *) norc_calloc (STARTED_MEMORY, sizeof (uint64_t));
    zhashx_set_destructor (self->runs, s_run_destroy);
    self->logs_open = zhashx_new ();
    zhashx_set_destructor (self->logs_open, s_log_destroy);
    if (gethostname (self->host, sizeof self->host) != 0)
        snprintf (self->host, sizeof self->host, "unknown");
    return self;
}

void
executor_destroy (executor_t **self_p)
{
    if (self_p && *self_p) {
        executor_t *self = *self_p;
        if (self->revision_busy) {
            kill (-self->revision_child.pid, SIGKILL);
            close (self->revision_child.output_fd);
        }
        zhashx_destroy (&self->runs);
        zhashx_destroy (&self->started);
        free (self->started_ring);
        //  Logs the archiver does not hold whole yet stay on disk for the
        //  next executor to adopt
        for (s_log_t *log = self->spool ? (s_log_t *) zhashx_first (self->logs_open) : NULL; log;
             log = (s_log_t *) zhashx_next (self->logs_open))
            s_log_spool (self->spool, log);
        zhashx_destroy (&self->logs_open);
        zloop_destroy (&self->loop);
        norc_link_destroy (&self->link);
        zsock_destroy (&self->logs);
        zsock_destroy (&self->dispatch);
        exec_spool_destroy (&self->spool);
        exec_cgroup_destroy (&self->cgroup);
        if (self->sigfd >= 0)
            close (self->sigfd);
        free (self->spool_dir);
        free (self->queue);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Logs

//  Move a log held in memory to a spool file. NORC_OK when it has one.
static int
s_log_spool (exec_spool_t *spool, s_log_t *log)
{
    if (log->spool)
        return NORC_OK;
    if (log->append)
        return NORC_ERROR;      //  its offsets are the archiver's: it stays in memory
    char name [64];
    snprintf (name, sizeof name, "%llu.log", (unsigned long long) log->instance_id);
    int fd = exec_spool_file_new (spool, name);
    if (fd < 0) {
        norc_log_warn ("instance=%llu: cannot spool the log in %s (kept in memory)",
                       (unsigned long long) log->instance_id, exec_spool_dir (spool));
        return NORC_ERROR;
    }
    for (size_t done = 0; done < log->written; ) {
        ssize_t n = pwrite (fd, log->memory + done, log->written - done, (off_t) done);
        if (n <= 0 && errno != EINTR) {
            norc_log_warn ("instance=%llu: cannot spool the log in %s (kept in memory)",
                           (unsigned long long) log->instance_id, exec_spool_dir (spool));
            close (fd);
            exec_spool_file_done (spool, name);
            return NORC_ERROR;
        }
        done += n > 0 ? (size_t) n : 0;
    }
    log->fd = fd;
    log->spool = norc_asprintf ("%s/%s", exec_spool_dir (spool), name);
    free (log->memory);
    log->memory = NULL;
    log->memory_size = 0;
    return NORC_OK;
}

static void
s_log_write (exec_spool_t *spool, s_log_t *log, const void *data, size_t size)
{
    if (size == 0)
        return;
    if (!log->spool && (log->written + size <= LOG_MEMORY || s_log_spool (spool, log) != NORC_OK)) {
        if (log->written + size > log->memory_size) {
            log->memory_size = log->memory_size ? log->memory_size : 1024;
            while (log->memory_size < log->written + size)
                log->memory_size *= 2;
            log->memory = (char *) norc_realloc (log->memory, log->memory_size);
        }
        memcpy (log->memory + log->written, data, size);
        log->written += size;
        return;
    }
    const char *p = (const char *) data;
    while (size > 0) {
        ssize_t n = pwrite (log->fd, p, size, (off_t) log->written);
        if (n <= 0) {
            if (errno == EINTR)
                continue;
            norc_log_warn ("instance=%llu: cannot write the spool %s", (unsigned long long) log->instance_id,
                           log->spool);
            return;
        }
        log->written += (uint64_t) n;
        p += n;
        size -= (size_t) n;
    }
}

//  A line in the original's format: [YYYY/MM/DD HH:MM:SS.ffffff] LEVEL: message
static void
s_log_line (exec_spool_t *spool, s_log_t *log, const char *level, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static void
s_log_line (exec_spool_t *spool, s_log_t *log, const char *level, const char *fmt, ...)
{
    norc_us_t now = norc_now_us ();
    time_t secs = (time_t) (now / NORC_US_PER_SEC);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char line [4096];
    int n = snprintf (line, sizeof line, "[%04d/%02d/%02d %02d:%02d:%02d.%06d] %s: ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (int) (now % NORC_US_PER_SEC), level);
    va_list ap;
    va_start (ap, fmt);
    int m = vsnprintf (line + n, sizeof line - (size_t) n - 1, fmt, ap);
    va_end (ap);
    n += m < 0 ? 0 : ((size_t) m >= sizeof line - (size_t) n - 1 ? (int) (sizeof line - (size_t) n - 2) : m);
    line [n++] = '\n';
    s_log_write (spool, log, line, (size_t) n);
}

//  A new log for an instance (in memory), or one adopted from an executor
//  that died (its spool file `existing`), continued at its end.
static s_log_t *
s_log_open (executor_t *self, uint64_t instance_id, const char *path, const char *existing)
{
    s_log_t *log = (s_log_t *) norc_calloc (1, sizeof (s_log_t));
    log->instance_id = instance_id;
    char fallback [64];
    log->path = norc_strdup (path && *path ? path : norc_log_path (instance_id, fallback, sizeof fallback));
    log->fd = -1;
    if (existing) {
        log->spool = norc_strdup (existing);
        log->fd = open (log->spool, O_RDWR | O_CLOEXEC);
        struct stat st;
        if (log->fd < 0 || fstat (log->fd, &st) != 0) {
            norc_log_warn ("instance=%llu: cannot open the spool %s", (unsigned long long) instance_id, log->spool);
            void *item = log;
            s_log_destroy (&item);
            return NULL;
        }
        log->written = (uint64_t) st.st_size;
    }
    log->opened = log->progress = norc_mono_us ();
    char key [32];
    zhashx_update (self->logs_open, s_key (instance_id, key, sizeof key), log);
    return log;
}

//  Send what the window allows; the chunk marked eof goes out once (until
//  a resend is due).
static void
s_pump_log (executor_t *self, s_log_t *log, char **buf)
{
    while (log->sent - log->acked < WINDOW && !log->eof_sent) {
        size_t want = (size_t) (log->written - log->sent);
        if (want == 0 && !log->eof)
            break;
        if (want > CHUNK)
            want = CHUNK;
        if (want && !*buf)
            *buf = (char *) norc_malloc (CHUNK);
        if (want && log->spool && log->fd < 0)
            log->fd = open (log->spool, O_RDONLY | O_CLOEXEC);     //  a resend after the file was closed
        ssize_t n = 0;
        if (want && !log->spool) {
            memcpy (*buf, log->memory + log->sent, want);
            n = (ssize_t) want;
        }
        else
        if (want)
            n = pread (log->fd, *buf, want, (off_t) log->sent);
        if (n < 0)
            break;
        norc_msg_t *msg = norc_msg_new (NORC_MSG_LOG_CHUNK);
        msg->log_chunk.instance_id = log->instance_id;
        msg->log_chunk.path = norc_strdup (log->path);
        msg->log_chunk.offset = log->append ? NORC_LOG_APPEND : log->sent;
        norc_bin_set (&msg->log_chunk.data, *buf, (size_t) n);
        msg->log_chunk.eof = log->eof && log->sent + (uint64_t) n == log->written;
        bool last = msg->log_chunk.eof;
        if (norc_msg_send (&msg, self->logs) != NORC_OK)
            break;
        log->sent += (uint64_t) n;
        log->progress = norc_mono_us ();
        log->eof_sent = last;
    }
    //  Everything is written and sent: the file stays, its descriptor need
    //  not (every open descriptor is copied and closed again at each spawn)
    if (log->eof_sent && log->fd >= 0) {
        close (log->fd);
        log->fd = -1;
    }
}

static void
s_pump_one (executor_t *self, s_log_t *log)
{
    if (!log)
        return;
    char *buf = NULL;
    s_pump_log (self, log, &buf);
    free (buf);
}

static void
s_pump (executor_t *self)
{
    char *buf = NULL;
    for (s_log_t *log = (s_log_t *) zhashx_first (self->logs_open); log;
         log = (s_log_t *) zhashx_next (self->logs_open))
        s_pump_log (self, log, &buf);
    free (buf);
}

static int
s_handle_logs (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    executor_t *self = (executor_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (!msg)
        return 0;
    if (msg->id == NORC_MSG_ACK) {
        char key [32];
        s_key (msg->ack.instance_id, key, sizeof key);
        s_log_t *log = (s_log_t *) zhashx_lookup (self->logs_open, key);
        if (log && msg->ack.seq > log->acked) {
            log->acked = msg->ack.seq;
            log->progress = norc_mono_us ();
        }
        //  The archiver acknowledges written + 1 once the log is closed
        if (log && log->eof && log->acked > log->written) {
            //  Every spool file is in our slot (adopted ones were moved in)
            if (log->spool)
                exec_spool_file_done (self->spool, strrchr (log->spool, '/') + 1);
            zhashx_delete (self->logs_open, key);
        }
        else
            s_pump_one (self, log);
    }
    norc_msg_destroy (&msg);
    return 0;
}

//  --------------------------------------------------------------------------
//  Instances

//  A freed slot is granted back once per wake-up: the slots a burst of
//  ends (or of instant completions) frees travel as one CREDIT, sent by
//  s_flush_credit at the end of the handler that freed them.
//  Started in this process lately?
static bool
s_started_before (executor_t *self, uint64_t instance_id)
{
    char key [32];
    return zhashx_lookup (self->started, s_key (instance_id, key, sizeof key)) != NULL;
}

static void
s_remember_started (executor_t *self, uint64_t instance_id)
{
    char key [32];
    uint64_t oldest = self->started_ring [self->started_next];
    if (oldest)
        zhashx_delete (self->started, s_key (oldest, key, sizeof key));
    self->started_ring [self->started_next] = instance_id;
    self->started_next = (self->started_next + 1) % STARTED_MEMORY;
    zhashx_insert (self->started, s_key (instance_id, key, sizeof key), (void *) 1);
}

static void
s_send_credit (executor_t *self, int credits)
{
    self->credit_due += credits;
}

static void
s_flush_credit (executor_t *self)
{
    int credits = self->credit_due;
    self->credit_due = 0;
    if (credits <= 0 || self->status != NORC_ST_RUNNING)
        return;         //  paused or stopping: no new work
    norc_msg_t *msg = norc_msg_new (NORC_MSG_CREDIT);
    msg->credit.executor_id = self->id;
    msg->credit.credits = credits;
    norc_msg_send (&msg, self->dispatch);
}

static void
s_send_hello (executor_t *self)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_HELLO);
    norc_hello_t *h = &msg->hello;
    h->executor_id = self->id;
    h->host = norc_strdup (self->host);
    h->pid = getpid ();
    h->queue = norc_strdup (self->queue);
    //  Paused or stopping: advertise no free slot
    h->concurrency = self->status == NORC_ST_RUNNING ? self->concurrency : (int32_t) zhashx_size (self->runs);
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs))
        norc_u64list_append (&h->running, run->instance_id);
    norc_msg_send (&msg, self->dispatch);
}

static void
s_send_ended (executor_t *self, uint64_t instance_id, int status, int exit_code, int signal,
              norc_us_t started, const struct rusage *usage, const char *reason, int why)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
    norc_instance_ended_t *m = &msg->instance_ended;
    m->instance_id = instance_id;
    char key [32];
    s_run_t *run = (s_run_t *) zhashx_lookup (self->runs, s_key (instance_id, key, sizeof key));
    m->executor_id = run && run->executor_id ? run->executor_id : self->id;
    m->status = status;
    m->exit_code = exit_code;
    m->signal = signal;
    m->started_us = started;
    m->ended_us = norc_now_us ();
    if (usage) {
        m->cpu_user_us = (int64_t) usage->ru_utime.tv_sec * 1000000 + usage->ru_utime.tv_usec;
        m->cpu_sys_us = (int64_t) usage->ru_stime.tv_sec * 1000000 + usage->ru_stime.tv_usec;
        m->max_rss_kb = usage->ru_maxrss;
    }
    m->reason = reason ? norc_strdup (reason) : NULL;
    m->reason_code = why;
    norc_link_send (self->link, &msg);
}

//  Read what the child wrote, into the spool.
//  The task's output into its log, up to its cap (the task's --log-max, or
//  executor.log_max_bytes): past it
//  the head is kept as it is and the last bytes in a ring (a MiB, or half
//  the limit when that is less), written with a note of what was cut when
//  the task ends. The task is never held up: its output is always read.
//  Bytes of output the archiver does not hold yet (in the spool or in
//  memory), over every log
static uint64_t
s_spool_pending (executor_t *self)
{
    uint64_t pending = 0;
    for (s_log_t *log = (s_log_t *) zhashx_first (self->logs_open); log;
         log = (s_log_t *) zhashx_next (self->logs_open))
        pending += log->written > log->acked ? log->written - log->acked : 0;
    return pending;
}

//  A run's head may grow by `keep` bytes while the spool stays within
//  spool.max_bytes; past it the head is closed for good (its output goes
//  to the tail from then on, as past the log's cap), so a log has at most
//  one cut. Returns what may be kept.
static size_t
s_spool_room (executor_t *self, s_run_t *run, size_t keep)
{
    if (self->spool_max <= 0 || keep == 0)
        return keep;
    uint64_t pending = s_spool_pending (self);
    uint64_t room = pending < (uint64_t) self->spool_max ? (uint64_t) self->spool_max - pending : 0;
    if (keep <= room)
        return keep;
    run->spool_full = true;
    norc_us_t now = norc_mono_us ();
    if (now - self->spool_full_said >= 60 * NORC_US_PER_SEC || !self->spool_full_said) {
        norc_log_warnx ("the spool holds %llu bytes the archiver does not have yet (spool.max_bytes %lld): "
                        "instance=%llu keeps only the end of its further output", (unsigned long long) pending,
                        (long long) self->spool_max, (unsigned long long) run->instance_id);
        self->spool_full_said = now;
    }
    return (size_t) room;
}

static void
s_output (executor_t *self, s_run_t *run, const char *data, size_t size)
{
    if (!run->log)
        return;
    uint64_t limit = run->log_max > 0 ? (uint64_t) run->log_max : UINT64_MAX;
    size_t tail = limit / 2 < 1024 * 1024 ? (size_t) (limit / 2) : 1024 * 1024;
    uint64_t head = limit == UINT64_MAX ? UINT64_MAX : limit - tail;
    run->output += size;
    if (run->spool_full)
        head = run->kept;
    if (run->kept < head) {
        size_t keep = run->kept + size <= head ? size : (size_t) (head - run->kept);
        keep = s_spool_room (self, run, keep);
        s_log_write (self->spool, run->log, data, keep);
        run->kept += keep;
        data += keep;
        size -= keep;
    }
    if (size == 0)
        return;
    if (!tail) {
        run->cut += size;
        return;
    }
    if (!run->tail) {
        run->tail = (char *) norc_malloc (tail);
        run->tail_size = tail;
    }
    if (size >= run->tail_size) {
        //  The ring holds only the last of this
        run->cut += run->tail_len + (size - run->tail_size);
        memcpy (run->tail, data + size - run->tail_size, run->tail_size);
        run->tail_len = run->tail_size;
        run->tail_at = 0;
        return;
    }
    size_t room = run->tail_size - run->tail_len;
    if (size > room)
        run->cut += size - room;            //  the oldest bytes of the ring make room
    run->tail_len = run->tail_len + size < run->tail_size ? run->tail_len + size : run->tail_size;
    while (size > 0) {
        size_t n = run->tail_size - run->tail_at < size ? run->tail_size - run->tail_at : size;
        memcpy (run->tail + run->tail_at, data, n);
        run->tail_at = (run->tail_at + n) % run->tail_size;
        data += n;
        size -= n;
    }
}

//  At the end: the note of what was cut, then the tail, oldest first
static void
s_output_end (executor_t *self, s_run_t *run)
{
    if (!run->tail || !run->log)
        return;
    if (run->cut)
        s_log_line (self->spool, run->log, "WARNING", "%llu bytes of output cut here: the log keeps the first "
                    "%llu and the last %zu of %llu (%s)", (unsigned long long) run->cut,
                    (unsigned long long) run->kept, run->tail_len, (unsigned long long) run->output,
                    run->spool_full ? "the spool was full: spool.max_bytes"
                    : run->log_max_own ? "the task's --log-max" : "executor.log_max_bytes");
    size_t start = run->tail_len < run->tail_size ? 0 : run->tail_at;
    for (size_t i = 0; i < run->tail_len; ) {
        size_t at = (start + i) % run->tail_size;
        size_t n = run->tail_size - at < run->tail_len - i ? run->tail_size - at : run->tail_len - i;
        s_log_write (self->spool, run->log, run->tail + at, n);
        i += n;
    }
    free (run->tail);
    run->tail = NULL;
    run->tail_len = 0;
}

static void
s_drain (executor_t *self, s_run_t *run)
{
    char buf [CHUNK];
    while (run->child.output_fd >= 0) {
        ssize_t n = read (run->child.output_fd, buf, sizeof buf);
        if (n > 0) {
            s_output (self, run, buf, (size_t) n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            zmq_pollitem_t item = { NULL, run->child.output_fd, ZMQ_POLLIN, 0 };
            zloop_poller_end (self->loop, &item);
            close (run->child.output_fd);
            run->child.output_fd = -1;
        }
        break;
    }
    s_pump_one (self, run->log);
}

static int
s_handle_output (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    executor_t *self = (executor_t *) arg;
    char key [32];
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs))
        if (run->child.output_fd == item->fd) {
            s_drain (self, run);
            return 0;
        }
    NORC_UNUSED (key);
    return 0;
}

//  The instance a process belongs to, from its environment
//  (NORC_INSTANCE_ID, set for every task); 0 when it names none.
static uint64_t
s_process_instance (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/environ", (int) pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    static char buf [65536];
    ssize_t n = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (n <= 0)
        return 0;
    buf [n] = 0;
    for (char *p = buf; p < buf + n; p += strlen (p) + 1)
        if (strncmp (p, "NORC_INSTANCE_ID=", 17) == 0)
            return strtoull (p + 17, NULL, 10);
    return 0;
}

//  Processes that tasks left outside their process groups (setsid) and
//  whose parents exited are this executor's children (it is their
//  subreaper). Each one whose instance no longer runs is ended, with what
//  it started in its own group. Returns how many belonged to `instance_id`.
static int
s_end_orphans (executor_t *self, uint64_t instance_id)
{
    int ended = 0;
    //  Reparented orphans join the children of the subreaper's main thread,
    //  where every task was spawned too: one small read
    char path [64], list [8192];
    snprintf (path, sizeof path, "/proc/self/task/%d/children", (int) getpid ());
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read (fd, list, sizeof list - 1);
    close (fd);
    list [n > 0 ? n : 0] = 0;
    char *save = NULL;
    for (char *p = strtok_r (list, " \n", &save); p; p = strtok_r (NULL, " \n", &save)) {
        pid_t pid = (pid_t) atoi (p);
        bool leader = false;
        for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run && !leader;
             run = (s_run_t *) zhashx_next (self->runs))
            leader = run->child.pid == pid;
        uint64_t owner = leader ? 0 : s_process_instance (pid);
        char key [32];
        if (!owner || (owner != instance_id && zhashx_lookup (self->runs, s_key (owner, key, sizeof key))))
            continue;
        kill (-pid, SIGKILL);       //  what it started in a group of its own
        kill (pid, SIGKILL);
        if (owner == instance_id)
            ended++;
        else
            norc_log_info ("instance=%llu: ended pid %d it left running", (unsigned long long) owner, (int) pid);
    }
    return ended;
}

//  Whether an instance still runs here (for the cgroup sweep)
static bool
s_runs_instance (uint64_t instance_id, void *arg)
{
    char key [32];
    return zhashx_lookup (((executor_t *) arg)->runs, s_key (instance_id, key, sizeof key)) != NULL;
}

static void
s_finish (executor_t *self, s_run_t *run)
{
    s_drain (self, run);
    s_output_end (self, run);
    exec_spool_run_forget (self->spool, run->instance_id);
    if (run->timeout_timer >= 0)
        zloop_timer_end (self->loop, run->timeout_timer);
    if (run->in_cgroup) {
        //  Whatever it started, wherever that went: one cgroup holds it all
        int left = exec_cgroup_end (self->cgroup, run->instance_id, 200);
        kill (-run->child.pid, SIGKILL);
        if (left && run->log && run->kill_timer < 0)
            s_log_line (self->spool, run->log, "WARNING", "The task left %d process%s running; %s ended.", left,
                        left == 1 ? "" : "es", left == 1 ? "it was" : "they were");
        if (run->kill_timer >= 0) {
            zloop_timer_end (self->loop, run->kill_timer);
            run->kill_timer = -1;
        }
    }
    else
    if (run->kill_timer >= 0) {
        //  Stopped on purpose (timeout, kill, interrupt) and its leader is
        //  gone: no member of its group outlives the run, not even one
        //  that ignores SIGTERM
        zloop_timer_end (self->loop, run->kill_timer);
        run->kill_timer = -1;
        kill (-run->child.pid, SIGKILL);
    }
    else
    if (kill (-run->child.pid, 0) == 0) {
        //  Its leader exited and left members of its group running (a
        //  command put in the background): the instance ends with them
        if (run->log)
            s_log_line (self->spool, run->log, "WARNING", "The task left processes running in its process "
                        "group; they were ended.");
        kill (-run->child.pid, SIGKILL);
    }
    //  And those it put out of its group (setsid), now this executor's
    int orphans = run->in_cgroup ? 0 : s_end_orphans (self, run->instance_id);
    if (orphans && run->log)
        s_log_line (self->spool, run->log, "WARNING", "The task left %d process%s running outside its process "
                    "group; %s ended.", orphans, orphans == 1 ? "" : "es", orphans == 1 ? "it was" : "they were");
    int status, exit_code = -1, signal = 0;
    const char *reason = NULL;
    char reason_buf [128];
    if (WIFEXITED (run->wait_status)) {
        exit_code = WEXITSTATUS (run->wait_status);
        status = exit_code == 0 ? NORC_ST_SUCCESS : NORC_ST_FAILURE;
    }
    else {
        signal = WTERMSIG (run->wait_status);
        status = run->timed_out ? NORC_ST_TIMEDOUT : run->killed_by ? NORC_ST_KILLED
               : run->interrupted ? NORC_ST_INTERRUPTED : NORC_ST_FAILURE;
        if (run->killed_by && !run->timed_out)
            snprintf (reason_buf, sizeof reason_buf, "killed on request by %.60s: signal %d (%s)", run->killed_by,
                      signal, strsignal (signal));
        else
        if (run->interrupted && !run->timed_out)
            snprintf (reason_buf, sizeof reason_buf, "interrupted (%s): killed by signal %d (%s)",
                      self->end_reason ? self->end_reason : "executor stopping", signal, strsignal (signal));
        else
            snprintf (reason_buf, sizeof reason_buf, "killed by signal %d (%s)", signal, strsignal (signal));
        reason = run->timed_out ? "timed out" : reason_buf;
    }
    if (run->timed_out && status != NORC_ST_TIMEDOUT) {
        status = NORC_ST_TIMEDOUT;
        reason = "timed out";
    }
    if (run->log) {
        if (exit_code >= 0)
            s_log_line (self->spool, run->log, status == NORC_ST_SUCCESS ? "INFO" : "ERROR",
                        "Task ended with status %s (exit code %d).", norc_status_name (status), exit_code);
        else
            s_log_line (self->spool, run->log, "ERROR", "Task ended with status %s (%s).",
                        norc_status_name (status), reason);
        run->log->eof = true;
    }
    if (run->started_msg)
        norc_link_send (self->link, &run->started_msg);
    int why = exit_code >= 0 ? NORC_WHY_EXIT : run->timed_out ? NORC_WHY_TIMEOUT
            : run->killed_by ? NORC_WHY_KILL_REQUEST : run->interrupted ? NORC_WHY_INTERRUPTED : NORC_WHY_SIGNAL;
    if (run->timed_out)
        why = NORC_WHY_TIMEOUT;
    s_send_ended (self, run->instance_id, status, exit_code, signal, run->started, &run->usage, reason, why);
    norc_log_info ("instance=%llu task=%s: %s", (unsigned long long) run->instance_id, run->task,
                   norc_status_name (status));
    self->completed++;
    s_pump_one (self, run->log);
    char key [32];
    zhashx_delete (self->runs, s_key (run->instance_id, key, sizeof key));
    s_send_credit (self, 1);
    if ((self->status == NORC_ST_STOPPING || self->killing) && zhashx_size (self->runs) == 0)
        self->done = true;
}

static int
s_on_kill (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    s_run_t *run = (s_run_t *) arg;
    run->kill_timer = -1;
    kill (-run->child.pid, SIGKILL);
    return 0;
}

static void
s_terminate (executor_t *self, s_run_t *run)
{
    kill (-run->child.pid, SIGTERM);
    if (run->in_cgroup)
        exec_cgroup_signal (self->cgroup, run->instance_id, SIGTERM);
    if (run->kill_timer < 0)
        run->kill_timer = zloop_timer (self->loop, (size_t) self->grace_ms, 1, s_on_kill, run);
}

static int
s_on_timeout (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    s_run_t *run = (s_run_t *) arg;
    run->timeout_timer = -1;
    run->timed_out = true;
    if (run->log)
        s_log_line (run->owner->spool, run->log, "ERROR", "Timeout reached: sending SIGTERM to the task.");
    s_terminate (run->owner, run);
    return 0;
}

static int
s_handle_sigchld (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (item);
    executor_t *self = (executor_t *) arg;
    struct signalfd_siginfo info;
    while (read (self->sigfd, &info, sizeof info) == sizeof info)
        ;
    while (true) {
        int status;
        struct rusage usage;
        pid_t pid = wait4 (-1, &status, WNOHANG, &usage);
        if (pid <= 0)
            break;
        for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs))
            if (run->child.pid == pid) {
                run->exited = true;
                run->wait_status = status;
                run->usage = usage;
                s_finish (self, run);
                break;
            }
    }
    s_flush_credit (self);
    return self->done ? -1 : 0;
}

static void s_send_status (executor_t *self, const char *reason);

//  The revision hook (executor.revision_command): its first output line,
//  asked every executor.revision_every_s (a minute), given 5 s to answer;
//  "" when not set or
//  when it fails (said in the log). It runs beside the loop, never in it:
//  its output is read as it comes, and until it answers, instances record
//  the previous answer. Only the first answer, before any work is taken,
//  is waited for.
static void
s_revision_done (executor_t *self, const char *failure)
{
    if (!self->revision_busy)
        return;
    self->revision_busy = false;
    exec_child_t *child = &self->revision_child;
    if (self->loop) {
        zmq_pollitem_t item = { NULL, child->output_fd, ZMQ_POLLIN, 0 };
        zloop_poller_end (self->loop, &item);
        if (self->revision_timer >= 0)
            zloop_timer_end (self->loop, self->revision_timer);
    }
    self->revision_timer = -1;
    kill (-child->pid, SIGKILL);        //  reaped with the other children
    close (child->output_fd);
    char *out = self->revision_out;
    out [self->revision_used] = 0;
    out [strcspn (out, "\r\n")] = 0;
    if (strlen (out) >= sizeof self->revision)
        out [sizeof self->revision - 1] = 0;       //  the record keeps 64 characters
    memcpy (self->revision, out, strlen (out) + 1);
    const char *command = norc_config_str (self->config, "executor.revision_command");
    if (failure)
        norc_log_warnx ("revision hook \"%s\": %s", command, failure);
    else
    if (!*self->revision)
        norc_log_warnx ("revision hook \"%s\" printed nothing", command);
}

//  Read what the hook printed; its first line is all that is wanted
static void
s_revision_read (executor_t *self)
{
    size_t room = sizeof self->revision_out - 1 - self->revision_used;
    ssize_t n = read (self->revision_child.output_fd, self->revision_out + self->revision_used, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        self->revision_used += (size_t) n;
    self->revision_out [self->revision_used] = 0;
    if (n <= 0 || (size_t) n == room || strpbrk (self->revision_out, "\r\n"))
        s_revision_done (self, NULL);
}

static int
s_on_revision_output (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (item);
    s_revision_read ((executor_t *) arg);
    return 0;
}

static int
s_on_revision_timeout (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    executor_t *self = (executor_t *) arg;
    self->revision_timer = -1;
    s_revision_done (self, "no answer within 5 s");
    return 0;
}

//  Ask the hook again when its answer is a minute old (and it is not
//  being asked already)
static void
s_revision_ask (executor_t *self)
{
    const char *command = norc_config_str (self->config, "executor.revision_command");
    norc_us_t now = norc_mono_us ();
    norc_us_t every = norc_config_int (self->config, "executor.revision_every_s") * NORC_US_PER_SEC;
    if (!*command || self->revision_busy || (self->revision_at && now - self->revision_at < every))
        return;
    self->revision_at = now;
    char err [256];
    if (exec_child_spawn (command, NULL, NULL, &self->revision_child, err, sizeof err) != NORC_OK) {
        norc_log_warnx ("revision hook: %s", err);
        self->revision [0] = 0;
        return;
    }
    self->revision_busy = true;
    self->revision_used = 0;
    if (self->loop) {
        zmq_pollitem_t item = { NULL, self->revision_child.output_fd, ZMQ_POLLIN, 0 };
        zloop_poller (self->loop, &item, s_on_revision_output, self);
        self->revision_timer = zloop_timer (self->loop, 5000, 1, s_on_revision_timeout, self);
    }
}

//  The first answer, before the loop runs (before any work is taken)
static void
s_revision_first (executor_t *self)
{
    s_revision_ask (self);
    norc_us_t deadline = norc_mono_us () + 5 * NORC_US_PER_SEC;
    while (self->revision_busy && norc_mono_us () < deadline) {
        zmq_pollitem_t item = { NULL, self->revision_child.output_fd, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) ((deadline - norc_mono_us ()) / 1000) + 1) > 0)
            s_revision_read (self);
    }
    if (self->revision_busy)
        s_revision_done (self, "no answer within 5 s");
}

//  Give an assigned instance back to the dispatcher (it waits again).
static void
s_release (executor_t *self, uint64_t instance_id, const char *reason)
{
    norc_msg_t *release = norc_msg_new (NORC_MSG_RELEASE);
    release->release.executor_id = self->id;
    release->release.instance_id = instance_id;
    release->release.reason = norc_strdup (reason);
    norc_msg_send (&release, self->dispatch);
}

//  The machine cannot start work (no spool, no processes, no file
//  descriptors): SUSPENDED, no new work until a RESUME request.
static void
s_suspend (executor_t *self, const char *why)
{
    if (self->status != NORC_ST_RUNNING)
        return;
    self->status = NORC_ST_SUSPENDED;
    norc_log_error ("suspended: %s (norcctl control resume executor %llu when fixed)", why,
                    (unsigned long long) self->id);
    s_send_status (self, why);
}

//  An errno that says the machine, not the task, is at fault.
static bool
s_machine_fault (int err)
{
    return err == EAGAIN || err == ENOMEM || err == EMFILE || err == ENFILE || err == ENOSPC || err == EDQUOT
        || err == EROFS || err == EIO;
}

//  The hold is over: send every STARTED still held back.
static int
s_on_started_hold (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    executor_t *self = (executor_t *) arg;
    self->started_timer = -1;
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs))
        if (run->started_msg)
            norc_link_send (self->link, &run->started_msg);
    return 0;
}

static void
s_start (executor_t *self, norc_assign_t *a)
{
    s_run_t *run = (s_run_t *) norc_calloc (1, sizeof (s_run_t));
    run->owner = self;
    run->instance_id = a->instance_id;
    run->task = norc_strdup (a->task ? a->task : "?");
    run->timeout_timer = run->kill_timer = -1;
    run->log_max_own = a->log_max_bytes > 0;
    run->log_max = run->log_max_own ? a->log_max_bytes : self->log_max;
    run->child.output_fd = -1;
    if (exec_spool_usable (self->spool) != NORC_OK) {
        //  Without a spool its output could be lost: give it back, stop taking work
        char why [256];
        snprintf (why, sizeof why, "cannot write the spool in %s: %s", exec_spool_dir (self->spool),
                  strerror (errno));
        s_release (self, a->instance_id, why);
        s_suspend (self, why);
        void *item = run;
        s_run_destroy (&item);
        return;
    }
    //  From here it starts (or ends ERROR trying): never again
    s_remember_started (self, a->instance_id);
    run->executor_id = self->id;
    run->log = s_log_open (self, a->instance_id, a->log_path, NULL);
    s_revision_ask (self);
    const char *revision = self->revision;
    s_log_line (self->spool, run->log, "INFO",
                "Starting instance #%llu of %s (attempt %d) on executor %llu, host %s.",
                (unsigned long long) a->instance_id, run->task, a->attempt ? a->attempt : 1,
                (unsigned long long) self->id, self->host);
    if (*revision)
        s_log_line (self->spool, run->log, "INFO", "Revision: %s", revision);
    s_log_line (self->spool, run->log, "INFO", "$ %s", a->command ? a->command : "");
    norc_strmap_t env = { 0 };
    for (size_t i = 0; i < a->env.count; i++)
        norc_strmap_set (&env, a->env.keys [i], a->env.values [i]);
    char value [32];
    norc_strmap_set (&env, "NORC_INSTANCE_ID", s_key (a->instance_id, value, sizeof value));
    norc_strmap_set (&env, "NORC_TASK", run->task);
    norc_strmap_set (&env, "NORC_QUEUE", a->queue ? a->queue : "");
    char err [512] = "";
    run->started = norc_now_us ();
    run->spawned_after = exec_spool_clock ();
    int cgroup_fd = -1;
    if (self->cgroup) {
        char why [512];
        cgroup_fd = exec_cgroup_prepare (self->cgroup, a->instance_id, why, sizeof why);
        if (cgroup_fd < 0 && !self->cgroup_failed) {
            norc_log_warnx ("instance=%llu: %s; it and later ones that fail so run in their process group only",
                            (unsigned long long) a->instance_id, why);
            self->cgroup_failed = true;
        }
    }
    int rc = exec_child_spawn_in (a->command ? a->command : "", &env, a->cwd, cgroup_fd, &run->child, err,
                                  sizeof err);
    int spawn_errno = errno;
    if (cgroup_fd >= 0)
        close (cgroup_fd);
    run->in_cgroup = rc == NORC_OK && cgroup_fd >= 0;
    norc_strmap_clear (&env);
    if (rc != NORC_OK) {
        if (s_machine_fault (spawn_errno))
            s_suspend (self, err);
        //  The machine could not start it: Norc's fault, not the task's
        if (run->log) {
            s_log_line (self->spool, run->log, "ERROR", "%s", err);
            s_log_line (self->spool, run->log, "ERROR", "Task ended with status ERROR.");
            run->log->eof = true;
        }
        norc_log_warnx ("instance=%llu: %s", (unsigned long long) a->instance_id, err);
        s_send_ended (self, a->instance_id, NORC_ST_ERROR, -1, 0, run->started, NULL, err, NORC_WHY_SPAWN_FAILED);
        s_pump_one (self, run->log);
        void *item = run;
        s_run_destroy (&item);
        s_send_credit (self, 1);
        return;
    }
    if (exec_spool_run_record (self->spool, a->instance_id, run->child.pid, run->spawned_after) != NORC_OK)
        norc_log_warn ("instance=%llu: cannot record the run in the spool", (unsigned long long) a->instance_id);
    char key [32];
    zhashx_insert (self->runs, s_key (a->instance_id, key, sizeof key), run);
    zmq_pollitem_t item = { NULL, run->child.output_fd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_handle_output, self);
    if (a->timeout_s > 0)
        run->timeout_timer = zloop_timer (self->loop, (size_t) a->timeout_s * 1000, 1, s_on_timeout, run);
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
    msg->instance_started.instance_id = a->instance_id;
    msg->instance_started.executor_id = self->id;
    msg->instance_started.pid = run->child.pid;
    msg->instance_started.started_us = run->started;
    if (*revision)
        msg->instance_started.revision = norc_strdup (revision);
    run->started_msg = msg;
    if (self->started_timer < 0)
        self->started_timer = zloop_timer (self->loop, STARTED_HOLD_MS, 1, s_on_started_hold, self);
    norc_log_debug ("instance=%llu pid=%d: started%s", (unsigned long long) a->instance_id,
                    (int) run->child.pid, run->child.direct ? " (direct exec)" : "");
    //  The start lines wait in the spool for the command's first output,
    //  its end or the next heartbeat, whichever comes first: a short
    //  command's whole log goes to the archiver as one chunk
}

//  Benchmark-only: report the instance started and succeeded without
//  running anything, to measure Norc's own pipeline. Never used by tests.
static void
s_complete_at_once (executor_t *self, norc_assign_t *a)
{
    norc_us_t now = norc_now_us ();
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
    msg->instance_started.instance_id = a->instance_id;
    msg->instance_started.executor_id = self->id;
    msg->instance_started.started_us = now;
    norc_link_send (self->link, &msg);
    s_send_ended (self, a->instance_id, NORC_ST_SUCCESS, 0, 0, now, NULL, "benchmark: not run", NORC_WHY_EXIT);
    self->completed++;
    s_send_credit (self, 1);
}

static void
s_on_dispatch (executor_t *self, norc_msg_t *msg)
{
    if (msg->id == NORC_MSG_ASSIGN) {
        char key [32];
        if ((self->beat_at && norc_mono_us () - self->beat_at > self->failure_ms * 1000 / 2)
        ||  norc_mono_us () < self->distrust_until) {
            //  Frozen (or just woken from a freeze): this ASSIGN may be old
            //  and the instance handed to another executor meanwhile
            s_release (self, msg->assign.instance_id, "the executor was frozen: it may be recorded dead");
            norc_log_warnx ("instance=%llu: assigned around a freeze; given back",
                            (unsigned long long) msg->assign.instance_id);
        }
        else
        if (zhashx_lookup (self->runs, s_key (msg->assign.instance_id, key, sizeof key))
        ||  s_started_before (self, msg->assign.instance_id)) {
            //  Never twice: whoever sent it again, its slot is still free
            norc_log_warnx ("instance=%llu: assigned again after it started here; not started again",
                            (unsigned long long) msg->assign.instance_id);
            s_send_credit (self, 1);
        }
        else
        if ((int) zhashx_size (self->runs) >= self->concurrency 
        ||  self->status != NORC_ST_RUNNING)
            s_release (self, msg->assign.instance_id,
                       self->status == NORC_ST_RUNNING ? "no free slot" : "not taking work");
        else
        if (self->benchmark_instant) {
            s_remember_started (self, msg->assign.instance_id);
            s_complete_at_once (self, &msg->assign);
        }
        else
            s_start (self, &msg->assign);
    }
    else
        norc_log_warnx ("unexpected %s from the scheduler", norc_msg_name (msg));
}

static int
s_handle_dispatch (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    executor_t *self = (executor_t *) arg;
    for (int i = 0; i < 1000 && (i == 0 || (zsock_events (sock) & ZMQ_POLLIN)); i++) {
        norc_msg_t *msg = norc_msg_recv (sock);
        if (msg)
            s_on_dispatch (self, msg);
        norc_msg_destroy (&msg);
    }
    s_flush_credit (self);
    return 0;
}

static void
s_send_status (executor_t *self, const char *reason)
{
    norc_link_status (self->link, self->status, reason);
}

//  Interrupt every running instance: SIGTERM to its group, SIGKILL after
//  the grace period; they end INTERRUPTED and the executor KILLED.
static void
s_interrupt_all (executor_t *self, const char *log_line, const char *reason)
{
    self->killing = true;
    self->end_reason = reason;
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run;
         run = (s_run_t *) zhashx_next (self->runs)) {
        if (run->interrupted)
            continue;
        run->interrupted = true;
        if (run->log)
            s_log_line (self->spool, run->log, "ERROR", "%s", log_line);
        s_terminate (self, run);
    }
}

static int
s_on_drain_over (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    executor_t *self = (executor_t *) arg;
    norc_log_warnx ("drain time over: interrupting %zu instances", zhashx_size (self->runs));
    s_interrupt_all (self, "Executor stopping and the drain time is over: stopping the task.",
                     "stopped: drain time over");
    return 0;
}

//  SIGTERM/SIGINT: the first drains (no new work; running instances have
//  executor.drain_ms to finish, then they are interrupted); a second one
//  interrupts them at once.
static int
s_on_signal (void *arg, int count)
{
    executor_t *self = (executor_t *) arg;
    if (count == 1 && !self->killing) {
        norc_log_info ("draining: %zu instances running, %lld ms to finish", zhashx_size (self->runs),
                       (long long) self->drain_ms);
        self->status = NORC_ST_STOPPING;
        self->end_reason = "stopped by signal";
        if (zhashx_size (self->runs) == 0)
            self->done = true;
        else {
            s_send_status (self, "signal: draining");
            zloop_timer (self->loop, (size_t) self->drain_ms, 1, s_on_drain_over, self);
        }
    }
    else
    if (count > 1)
        s_interrupt_all (self, "Executor stopped by a second signal: stopping the task.",
                         "stopped by a second signal");
    return self->done ? -1 : 0;
}

//  KILL for one instance: stop it, report it KILLED; the executor goes on.
static const char *
s_control_instance (executor_t *self, const norc_control_t *c)
{
    char key [32];
    s_run_t *run = (s_run_t *) zhashx_lookup (self->runs, s_key (c->instance_id, key, sizeof key));
    const char *refused = c->request != NORC_REQ_KILL ? "only KILL applies to one instance"
                        : !run ? "that instance is not running here" : NULL;
    if (!refused && !run->killed_by) {
        run->killed_by = norc_strdup (c->requested_by && *c->requested_by ? c->requested_by : "?");
        if (run->log)
            s_log_line (self->spool, run->log, "ERROR", "Killed on request by %s: stopping the task.", run->killed_by);
        s_terminate (self, run);
    }
    return refused;
}

//  A spool made again has an empty run table: record the children still
//  running, so that a successor can stop them if this executor dies.
static void
s_record_runs (executor_t *self)
{
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs))
        if (!run->exited
        &&  exec_spool_run_record (self->spool, run->instance_id, run->child.pid, run->spawned_after) != NORC_OK)
            norc_log_warn ("instance=%llu: cannot record the run in the spool", (unsigned long long) run->instance_id);
}

//  A control request from the aggregator (the link reports the new status
//  and answers)
static norc_link_outcome_t
s_control (void *arg, const norc_control_t *c)
{
    executor_t *self = (executor_t *) arg;
    if (c->instance_id)
        return (norc_link_outcome_t) { s_control_instance (self, c), self->status, false, false };
    const char *refused = NULL;
    switch (c->request) {
        case NORC_REQ_PAUSE:
            if (self->status != NORC_ST_RUNNING)
                refused = "not running";
            else
                self->status = NORC_ST_PAUSED;
            break;
        case NORC_REQ_RESUME:
            if (self->status != NORC_ST_PAUSED && self->status != NORC_ST_SUSPENDED)
                refused = "not paused";
            else
            if (exec_spool_repair (self->spool) != NORC_OK)
                refused = "the spool is still unusable";
            else {
                s_record_runs (self);
                self->status = NORC_ST_RUNNING;
            }
            break;
        case NORC_REQ_STOP:
            self->status = NORC_ST_STOPPING;
            self->end_reason = "stopped on request";
            break;
        case NORC_REQ_KILL:
            s_interrupt_all (self, "Executor killed on request: stopping the task.", "killed on request");
            break;
        default:
            refused = "not a request for an executor";
    }
    bool report = false;
    if (!refused) {
        if ((self->status == NORC_ST_STOPPING || self->killing) && zhashx_size (self->runs) == 0)
            self->done = true;          //  its final status goes out as it ends
        else
            report = true;
        if (self->status == NORC_ST_RUNNING)
            s_send_hello (self);
    }
    return (norc_link_outcome_t) { refused, self->status, report, self->done };
}

//  Recorded dead while it was frozen, and registered again: a new id, then
//  work again; what it still runs ends under the id it started under
static void
s_registered (void *arg, uint64_t old, uint64_t id)
{
    executor_t *self = (executor_t *) arg;
    NORC_UNUSED (old);
    self->id = id;
    self->distrust_until = 0;           //  a new id: what comes now is for it
    if (zhashx_size (self->runs))
        norc_log_info ("%zu instances still running are reported under the old id", zhashx_size (self->runs));
    s_send_hello (self);
}

static int
s_handle_events (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    executor_t *self = (executor_t *) arg;
    int rc = self->done ? -1 : norc_link_read (self->link);
    return rc < 0 || self->done ? -1 : 0;
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    executor_t *self = (executor_t *) arg;
    //  Silent for half the failure threshold or more (frozen, stalled): it
    //  may be recorded dead, and the ASSIGNs waiting for it handed to other
    //  executors meanwhile. For one threshold, or until it has registered
    //  again, it starts none of them
    norc_us_t now = norc_mono_us ();
    if (self->beat_at && now - self->beat_at > self->failure_ms * 1000 / 2) {
        norc_log_warnx ("no heartbeat sent for %lld ms (frozen?): giving back what is assigned for a while",
                        (long long) ((now - self->beat_at) / 1000));
        self->distrust_until = now + self->failure_ms * 1000;
    }
    self->beat_at = now;
    norc_link_beat (self->link, self->status, (int) zhashx_size (self->runs),
                    self->concurrency - (int) zhashx_size (self->runs));
    s_send_hello (self);
    //  Orphans that reached this executor after their instance ended
    s_end_orphans (self, 0);
    if (self->cgroup) {
        int ended = exec_cgroup_sweep (self->cgroup, s_runs_instance, self);
        if (ended)
            norc_log_info ("ended %d processes left in the cgroups of instances that ended", ended);
    }
    //  Logs without progress for a while (the archiver was away, or an ack
    //  was lost): send again from the last acknowledged byte
    norc_us_t stale = norc_mono_us () - 3 * self->period_ms * 1000;
    norc_us_t old = norc_mono_us () - self->period_ms * 1000;
    for (s_log_t *log = (s_log_t *) zhashx_first (self->logs_open); log;
         log = (s_log_t *) zhashx_next (self->logs_open)) {
        //  Logs in memory for a heartbeat period (a long run, or the
        //  archiver is slow or away) go to disk
        if (!log->spool && log->opened < old)
            s_log_spool (self->spool, log);
        if ((log->sent > log->acked || log->eof_sent) && log->progress < stale) {
            log->sent = log->acked < log->written ? log->acked : log->written;
            log->eof_sent = false;
            log->progress = norc_mono_us ();
        }
    }
    s_pump (self);
    return 0;
}

//  --------------------------------------------------------------------------

//  What an executor that died left in the spool: its lost runs end ERROR
//  (their process groups were stopped by exec_spool), and every log it
//  spooled goes to the archiver, complete.
static void
s_reconcile (executor_t *self)
{
    exec_spool_leftover_t *list = NULL;
    size_t count = 0;
    exec_spool_leftovers (self->spool, &list, &count);
    for (size_t i = 0; i < count; i++) {
        exec_spool_leftover_t *l = &list [i];
        const char *reason = l->stopped
            ? "executor lost while the task ran; its processes were stopped by the next executor on this host"
            : "executor lost while the task ran";
        //  A lost run whose log was still in memory: its closing lines go
        //  to the end of what the archiver holds
        s_log_t *log = l->log || l->lost_run ? s_log_open (self, l->instance_id, NULL, l->log) : NULL;
        if (log && !l->log) {
            log->append = true;
            norc_log_info ("instance=%llu: its log was not spooled; its closing lines go to the end of what the "
                           "archiver holds", (unsigned long long) l->instance_id);
        }
        if (log) {
            if (l->lost_run) {
                s_log_line (self->spool, log, "ERROR", "Executor lost while the task ran: the run is lost%s.",
                            l->stopped ? " (its processes were stopped)" : "");
                s_log_line (self->spool, log, "ERROR", "Task ended with status ERROR (%s).", reason);
            }
            log->eof = true;
        }
        if (l->lost_run) {
            //  executor_id 0: the instance stays recorded on the executor that ran it
            norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
            msg->instance_ended.instance_id = l->instance_id;
            msg->instance_ended.status = NORC_ST_ERROR;
            msg->instance_ended.exit_code = -1;
            msg->instance_ended.ended_us = norc_now_us ();
            msg->instance_ended.reason = norc_strdup (reason);
            msg->instance_ended.reason_code = NORC_WHY_EXECUTOR_DIED;
            norc_link_send (self->link, &msg);
        }
    }
    if (count)
        norc_log_info ("reconciled %zu instances left by an executor that is gone", count);
    exec_spool_leftovers_free (&list, count);
    s_pump (self);
}

int
executor_start (executor_t *self)
{
    //  Processes a task puts out of its process group (setsid) become this
    //  executor's children when their parents exit, so it can end them
    if (prctl (PR_SET_CHILD_SUBREAPER, 1) != 0)
        norc_log_warn ("cannot become the subreaper of its tasks: processes they start with setsid may outlive them");
    char err [512];
    if (norc_config_bool (self->config, "executor.cgroup")) {
        self->cgroup = exec_cgroup_open (NULL, err, sizeof err);
        if (self->cgroup)
            norc_log_info ("each instance runs in a cgroup of its own under %s", exec_cgroup_path (self->cgroup));
        else
            norc_log_info ("no cgroup per instance (%s): what a task leaves is found through its process group "
                           "and its environment", err);
    }
    self->spool = exec_spool_open (self->spool_dir, err, sizeof err);
    if (!self->spool) {
        norc_log_error ("spool: %s", err);
        return NORC_ERROR;
    }
    //  Registered through the aggregator's API (the executor needs no database)
    norc_link_spec_t spec = { .kind = "executor", .host = self->host, .queue = self->queue,
                              .concurrency = self->concurrency, .control = s_control,
                              .registered = s_registered, .arg = self };
    self->link = norc_link_new (self->config, &spec);
    if (!self->link || norc_link_register (self->link, 60) != NORC_OK)
        return NORC_ERROR;
    self->id = norc_link_id (self->link);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGCHLD);
    self->sigfd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0) {
        norc_log_warn ("signalfd");
        return NORC_ERROR;
    }
    self->dispatch = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "scheduler.dispatch"));
    self->logs = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "archiver.logs"));
    if (!self->dispatch || !self->logs)
        return NORC_ERROR;
    s_revision_first (self);
    self->loop = zloop_new ();
    zloop_reader (self->loop, self->dispatch, s_handle_dispatch, self);
    zloop_reader (self->loop, norc_link_socket (self->link), s_handle_events, self);
    zloop_reader (self->loop, self->logs, s_handle_logs, self);
    zmq_pollitem_t item = { NULL, self->sigfd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, s_handle_sigchld, self);
    zloop_timer (self->loop, (size_t) self->period_ms, 0, s_on_heartbeat, self);
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    s_reconcile (self);
    norc_log_info ("executor=%llu on %s: serving %s with %d slots", (unsigned long long) self->id,
                   self->host, self->queue, self->concurrency);
    s_on_heartbeat (self->loop, 0, self);
    return NORC_OK;
}

void
executor_run (executor_t *self)
{
    zloop_start (self->loop);
    //  Stop what still runs: SIGTERM, then SIGKILL after the grace period
    for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run; run = (s_run_t *) zhashx_next (self->runs)) {
        run->interrupted = true;
        kill (-run->child.pid, SIGTERM);
    }
    norc_us_t deadline = norc_mono_us () + self->grace_ms * 1000;
    bool killed = false;
    while (zhashx_size (self->runs) > 0) {
        if (!killed && norc_mono_us () > deadline) {
            for (s_run_t *run = (s_run_t *) zhashx_first (self->runs); run;
                 run = (s_run_t *) zhashx_next (self->runs))
                kill (-run->child.pid, SIGKILL);
            killed = true;
        }
        zmq_pollitem_t item = { NULL, self->sigfd, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 100);
        s_handle_sigchld (self->loop, &item, self);
    }
    self->status = self->killing ? NORC_ST_KILLED : NORC_ST_ENDED;
    s_send_status (self, self->end_reason ? self->end_reason : "stopped");
    //  A moment for the aggregator and archiver to take what is in flight
    norc_us_t until = norc_mono_us () + 2 * NORC_US_PER_SEC;
    while (norc_mono_us () < until && (norc_link_pending (self->link) || zhashx_size (self->logs_open))) {
        zmq_pollitem_t items [2] = { { zsock_resolve (norc_link_socket (self->link)), 0, ZMQ_POLLIN, 0 },
                                     { zsock_resolve (self->logs), 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, 100) > 0) {
            if (items [0].revents & ZMQ_POLLIN)
                norc_link_read (self->link);
            if (items [1].revents & ZMQ_POLLIN)
                s_handle_logs (self->loop, self->logs, self);
        }
    }
    norc_log_info ("stopped after %llu instances", (unsigned long long) self->completed);
}

//  exec_run.c - run supervision: an assigned instance started as a child
//  (in its process group, and its cgroup where the host allows one), its
//  output read into its log up to its cap, its timeout and kills, and its
//  end: exit status and resource use reported, and whatever it left
//  running ended with it. See exec_internal.h for the parts.
#include "exec_internal.h"
#include "norc_metrics.h"

void
exec_run_destroy (void **item)
{
    exec_run_t *run = (exec_run_t *) *item;
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

//  A freed slot is granted back once per wake-up: the slots a burst of
//  ends (or of instant completions) frees travel as one CREDIT, sent by
//  executor_flush_credit at the end of the handler that freed them.
//  Started in this process lately?
bool
exec_run_started_before (executor_t *self, uint64_t instance_id)
{
    char key [32];
    return zhashx_lookup (self->started, executor_key (instance_id, key, sizeof key)) != NULL;
}

//  What remembers a run that started and has not ended here (a run that
//  ended is remembered with its end: a norc_instance_ended_t)
static char s_started_only;

void
exec_run_remembered_free (void **item)
{
    norc_instance_ended_t *end = (norc_instance_ended_t *) *item;
    if (end && *item != (void *) &s_started_only) {
        free (end->reason);
        free (end);
    }
    *item = NULL;
}

void
exec_run_remember_started (executor_t *self, uint64_t instance_id)
{
    char key [32];
    uint64_t oldest = self->started_ring [self->started_next];
    if (oldest)
        zhashx_delete (self->started, executor_key (oldest, key, sizeof key));
    self->started_ring [self->started_next] = instance_id;
    self->started_next = (self->started_next + 1) % STARTED_MEMORY;
    zhashx_update (self->started, executor_key (instance_id, key, sizeof key), &s_started_only);
}

//  Keep how a run ended with what remembers it started
static void
s_remember_end (executor_t *self, const norc_instance_ended_t *m)
{
    char key [32];
    executor_key (m->instance_id, key, sizeof key);
    if (!zhashx_lookup (self->started, key))
        return;
    norc_instance_ended_t *end = (norc_instance_ended_t *) norc_malloc (sizeof (norc_instance_ended_t));
    *end = *m;
    end->reason = m->reason ? norc_strdup (m->reason) : NULL;
    zhashx_update (self->started, key, end);
}

bool
exec_run_report_again (executor_t *self, uint64_t instance_id)
{
    char key [32];
    executor_key (instance_id, key, sizeof key);
    norc_instance_ended_t *end = (norc_instance_ended_t *) zhashx_lookup (self->started, key);
    if (!end || (void *) end == (void *) &s_started_only || zhashx_lookup (self->runs, key))
        return false;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
    norc_instance_ended_t *m = &msg->instance_ended;
    *m = *end;
    m->reason = end->reason ? norc_strdup (end->reason) : NULL;
    m->executor_id = self->id;
    norc_link_send (self->link, &msg);
    return true;
}

static void
s_send_ended (executor_t *self, uint64_t instance_id, int status, int exit_code, int signal,
              norc_us_t started, const struct rusage *usage, const char *reason, int why)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
    norc_instance_ended_t *m = &msg->instance_ended;
    m->instance_id = instance_id;
    char key [32];
    exec_run_t *run = (exec_run_t *) zhashx_lookup (self->runs, executor_key (instance_id, key, sizeof key));
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
    //  The run's record stays in the spool, with how it ended, until the
    //  aggregator has the end (executor.c, s_end_acked): an executor killed
    //  before that is followed by one that reports this end, never by a
    //  second run of an instance the record still shows waiting
    exec_spool_run_ended (self->spool, instance_id, status, exit_code, signal);
    s_remember_end (self, m);
    norc_link_send_tagged (self->link, &msg, instance_id);
}

//  A run's head may grow by `keep` bytes while the spool stays within
//  spool.max_bytes; past it the head is closed for good (its output goes
//  to the tail from then on, as past the log's cap), so a log has at most
//  one cut. Returns what may be kept.
static size_t
s_spool_room (executor_t *self, exec_run_t *run, size_t keep)
{
    if (self->spool_max <= 0 || keep == 0)
        return keep;
    uint64_t pending = exec_log_pending (self);
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

//  The task's output into its log, up to its cap (the task's --log-max, or
//  executor.log_max_bytes): past it the head is kept as it is and the last
//  bytes in a ring (a MiB, or half the limit when that is less), written
//  with a note of what was cut when the task ends. The task is never held
//  up: its output is always read.
static void
s_output (executor_t *self, exec_run_t *run, const char *data, size_t size)
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
        exec_log_write (self->spool, run->log, data, keep);
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
s_output_end (executor_t *self, exec_run_t *run)
{
    if (!run->tail || !run->log)
        return;
    if (run->cut)
        exec_log_line (self->spool, run->log, "WARNING", "%llu bytes of output cut here: the log keeps the first "
                    "%llu and the last %zu of %llu (%s)", (unsigned long long) run->cut,
                    (unsigned long long) run->kept, run->tail_len, (unsigned long long) run->output,
                    run->spool_full ? "the spool was full: spool.max_bytes"
                    : run->log_max_own ? "the task's --log-max" : "executor.log_max_bytes");
    size_t start = run->tail_len < run->tail_size ? 0 : run->tail_at;
    for (size_t i = 0; i < run->tail_len; ) {
        size_t at = (start + i) % run->tail_size;
        size_t n = run->tail_size - at < run->tail_len - i ? run->tail_size - at : run->tail_len - i;
        exec_log_write (self->spool, run->log, run->tail + at, n);
        i += n;
    }
    free (run->tail);
    run->tail = NULL;
    run->tail_len = 0;
}

static void
s_drain (executor_t *self, exec_run_t *run)
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
    exec_log_pump_one (self, run->log);
}

static int
s_handle_output (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    executor_t *self = (executor_t *) arg;
    char key [32];
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs))
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
int
exec_run_end_orphans (executor_t *self, uint64_t instance_id)
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
        for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run && !leader;
             run = (exec_run_t *) zhashx_next (self->runs))
            leader = run->child.pid == pid;
        uint64_t owner = leader ? 0 : s_process_instance (pid);
        char key [32];
        if (!owner || (owner != instance_id && zhashx_lookup (self->runs, executor_key (owner, key, sizeof key))))
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
bool
exec_run_running (uint64_t instance_id, void *arg)
{
    char key [32];
    return zhashx_lookup (((executor_t *) arg)->runs, executor_key (instance_id, key, sizeof key)) != NULL;
}

static void
s_finish (executor_t *self, exec_run_t *run)
{
    s_drain (self, run);
    s_output_end (self, run);
    if (run->timeout_timer >= 0)
        zloop_timer_end (self->loop, run->timeout_timer);
    if (run->in_cgroup) {
        //  Whatever it started, wherever that went: one cgroup holds it all
        int left = exec_cgroup_end (self->cgroup, run->instance_id, 200);
        kill (-run->child.pid, SIGKILL);
        if (left && run->log && run->kill_timer < 0)
            exec_log_line (self->spool, run->log, "WARNING", "The task left %d process%s running; %s ended.", left,
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
            exec_log_line (self->spool, run->log, "WARNING", "The task left processes running in its process "
                        "group; they were ended.");
        kill (-run->child.pid, SIGKILL);
    }
    //  And those it put out of its group (setsid), now this executor's
    int orphans = run->in_cgroup ? 0 : exec_run_end_orphans (self, run->instance_id);
    if (orphans && run->log)
        exec_log_line (self->spool, run->log, "WARNING", "The task left %d process%s running outside its process "
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
            exec_log_line (self->spool, run->log, status == NORC_ST_SUCCESS ? "INFO" : "ERROR",
                        "Task ended with status %s (exit code %d).", norc_status_name (status), exit_code);
        else
            exec_log_line (self->spool, run->log, "ERROR", "Task ended with status %s (%s).",
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
    char labels [192], queue [128];
    snprintf (labels, sizeof labels, "queue=\"%s\",status=\"%s\"",
              norc_metrics_escape (self->queue, queue, sizeof queue), norc_status_name (status));
    norc_metrics_observe ("norc_instance_duration_seconds", labels,
                          run->started ? (double) (norc_now_us () - run->started) / 1e6 : 0);
    norc_log_info ("instance=%llu task=%s: %s", (unsigned long long) run->instance_id, run->task,
                   norc_status_name (status));
    self->completed++;
    exec_log_pump_one (self, run->log);
    char key [32];
    zhashx_delete (self->runs, executor_key (run->instance_id, key, sizeof key));
    executor_send_credit (self, 1);
    if ((self->status == NORC_ST_STOPPING || self->killing) && zhashx_size (self->runs) == 0)
        self->done = true;
}

static int
s_on_kill (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    exec_run_t *run = (exec_run_t *) arg;
    run->kill_timer = -1;
    kill (-run->child.pid, SIGKILL);
    return 0;
}

static void
s_terminate (executor_t *self, exec_run_t *run)
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
    exec_run_t *run = (exec_run_t *) arg;
    run->timeout_timer = -1;
    run->timed_out = true;
    if (run->log)
        exec_log_line (run->owner->spool, run->log, "ERROR", "Timeout reached: sending SIGTERM to the task.");
    s_terminate (run->owner, run);
    return 0;
}

int
exec_run_handle_sigchld (zloop_t *loop, zmq_pollitem_t *item, void *arg)
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
        for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs))
            if (run->child.pid == pid) {
                run->exited = true;
                run->wait_status = status;
                run->usage = usage;
                s_finish (self, run);
                break;
            }
    }
    executor_flush_credit (self);
    return self->done ? -1 : 0;
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
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs))
        if (run->started_msg)
            norc_link_send (self->link, &run->started_msg);
    return 0;
}

void
exec_run_start (executor_t *self, norc_assign_t *a)
{
    exec_run_t *run = (exec_run_t *) norc_calloc (1, sizeof (exec_run_t));
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
        executor_release (self, a->instance_id, why);
        executor_suspend (self, why);
        void *item = run;
        exec_run_destroy (&item);
        return;
    }
    //  From here it starts (or ends ERROR trying): never again
    exec_run_remember_started (self, a->instance_id);
    run->executor_id = self->id;
    run->log = exec_log_open (self, a->instance_id, a->log_path, NULL);
    executor_revision_ask (self);
    const char *revision = self->revision;
    exec_log_line (self->spool, run->log, "INFO",
                "Starting instance #%llu of %s (attempt %d) on executor %llu, host %s.",
                (unsigned long long) a->instance_id, run->task, a->attempt ? a->attempt : 1,
                (unsigned long long) self->id, self->host);
    if (*revision)
        exec_log_line (self->spool, run->log, "INFO", "Revision: %s", revision);
    exec_log_line (self->spool, run->log, "INFO", "$ %s", a->command ? a->command : "");
    norc_strmap_t env = { 0 };
    for (size_t i = 0; i < a->env.count; i++)
        norc_strmap_set (&env, a->env.keys [i], a->env.values [i]);
    char value [32];
    norc_strmap_set (&env, "NORC_INSTANCE_ID", executor_key (a->instance_id, value, sizeof value));
    norc_strmap_set (&env, "NORC_TASK", run->task);
    norc_strmap_set (&env, "NORC_QUEUE", a->queue ? a->queue : "");
    //  Run as another user: that user's home and name, unless the task
    //  sets its own
    const char *who [][2] = { { "HOME", self->run_as.home }, { "USER", self->run_as.name },
                              { "LOGNAME", self->run_as.name } };
    for (size_t i = 0; self->run_as.name && i < 3; i++)
        if (!norc_strmap_get (&a->env, who [i][0]))
            norc_strmap_set (&env, who [i][0], who [i][1]);
    char err [512] = "";
    run->started = norc_now_us ();
    run->spawned_after = exec_spool_clock ();
    //  Recorded before it can run: an executor killed from here on is
    //  followed by one that reports the run lost (or its end), never by a
    //  second run of an instance the record still shows waiting
    if (exec_spool_run_record (self->spool, a->instance_id, 0, run->spawned_after) != NORC_OK)
        norc_log_warn ("instance=%llu: cannot record the run in the spool", (unsigned long long) a->instance_id);
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
    int rc = exec_child_spawn_in (a->command ? a->command : "", &env, a->cwd, cgroup_fd, &self->run_as,
                                  &run->child, err, sizeof err);
    if (rc == NORC_AGAIN) {
        //  The kernel would not take it into its cgroup: it runs in its
        //  process group only (said once)
        if (!self->cgroup_failed)
            norc_log_warnx ("instance=%llu: %s; it and later ones that fail so run in their process group only",
                            (unsigned long long) a->instance_id, err);
        self->cgroup_failed = true;
        close (cgroup_fd);
        cgroup_fd = -1;
        exec_cgroup_end (self->cgroup, a->instance_id, 0);
        rc = exec_child_spawn_in (a->command ? a->command : "", &env, a->cwd, -1, &self->run_as, &run->child, err,
                                  sizeof err);
    }
    int spawn_errno = errno;
    if (cgroup_fd >= 0)
        close (cgroup_fd);
    run->in_cgroup = rc == NORC_OK && cgroup_fd >= 0;
    norc_strmap_clear (&env);
    if (rc != NORC_OK) {
        if (s_machine_fault (spawn_errno))
            executor_suspend (self, err);
        //  The machine could not start it: Norc's fault, not the task's
        if (run->log) {
            exec_log_line (self->spool, run->log, "ERROR", "%s", err);
            exec_log_line (self->spool, run->log, "ERROR", "Task ended with status ERROR.");
            run->log->eof = true;
        }
        norc_log_warnx ("instance=%llu: %s", (unsigned long long) a->instance_id, err);
        s_send_ended (self, a->instance_id, NORC_ST_ERROR, -1, 0, run->started, NULL, err, NORC_WHY_SPAWN_FAILED);
        exec_log_pump_one (self, run->log);
        void *item = run;
        exec_run_destroy (&item);
        executor_send_credit (self, 1);
        return;
    }
    if (exec_spool_run_record (self->spool, a->instance_id, run->child.pid, run->spawned_after) != NORC_OK)
        norc_log_warn ("instance=%llu: cannot record the run in the spool", (unsigned long long) a->instance_id);
    char key [32];
    zhashx_insert (self->runs, executor_key (a->instance_id, key, sizeof key), run);
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
void
exec_run_complete_at_once (executor_t *self, norc_assign_t *a)
{
    norc_us_t now = norc_now_us ();
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
    msg->instance_started.instance_id = a->instance_id;
    msg->instance_started.executor_id = self->id;
    msg->instance_started.started_us = now;
    norc_link_send (self->link, &msg);
    s_send_ended (self, a->instance_id, NORC_ST_SUCCESS, 0, 0, now, NULL, "benchmark: not run", NORC_WHY_EXIT);
    self->completed++;
    executor_send_credit (self, 1);
}

//  Interrupt every running instance: SIGTERM to its group, SIGKILL after
//  the grace period; they end INTERRUPTED and the executor KILLED.
void
exec_run_interrupt_all (executor_t *self, const char *log_line, const char *reason)
{
    self->killing = true;
    self->end_reason = reason;
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run;
         run = (exec_run_t *) zhashx_next (self->runs)) {
        if (run->interrupted)
            continue;
        run->interrupted = true;
        if (run->log)
            exec_log_line (self->spool, run->log, "ERROR", "%s", log_line);
        s_terminate (self, run);
    }
}

//  KILL for one instance: stop it, report it KILLED; the executor goes on.
const char *
exec_run_control_instance (executor_t *self, const norc_control_t *c)
{
    char key [32];
    exec_run_t *run = (exec_run_t *) zhashx_lookup (self->runs, executor_key (c->instance_id, key, sizeof key));
    const char *refused = c->request != NORC_REQ_KILL ? "only KILL applies to one instance"
                        : !run ? "that instance is not running here" : NULL;
    if (!refused && !run->killed_by) {
        run->killed_by = norc_strdup (c->requested_by && *c->requested_by ? c->requested_by : "?");
        if (run->log)
            exec_log_line (self->spool, run->log, "ERROR", "Killed on request by %s: stopping the task.", run->killed_by);
        s_terminate (self, run);
    }
    return refused;
}

//  A spool made again has an empty run table: record the children still
//  running, so that a successor can stop them if this executor dies.
void
exec_run_record_all (executor_t *self)
{
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs))
        if (!run->exited
        &&  exec_spool_run_record (self->spool, run->instance_id, run->child.pid, run->spawned_after) != NORC_OK)
            norc_log_warn ("instance=%llu: cannot record the run in the spool", (unsigned long long) run->instance_id);
}

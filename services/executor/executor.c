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
#include "exec_internal.h"
#include "norc_metrics.h"

char *
executor_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
    return buf;
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
    self->revision_command = norc_config_str (config, "executor.revision_command");
    self->revision_every = norc_config_int (config, "executor.revision_every_s") * NORC_US_PER_SEC;
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
    zhashx_set_destructor (self->started, exec_run_remembered_free);
    self->started_ring = (uint64_t *) norc_calloc (STARTED_MEMORY, sizeof (uint64_t));
    zhashx_set_destructor (self->runs, exec_run_destroy);
    self->logs_open = zhashx_new ();
    zhashx_set_destructor (self->logs_open, exec_log_destroy);
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
        for (exec_log_t *log = self->spool ? (exec_log_t *) zhashx_first (self->logs_open) : NULL; log;
             log = (exec_log_t *) zhashx_next (self->logs_open))
            exec_log_spool (self->spool, log);
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
        exec_identity_clear (&self->run_as);
        free (self->queue);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Dispatch: credits, HELLO, RELEASE

//  A freed slot is granted back once per wake-up: the slots a burst of
//  ends (or of instant completions) frees travel as one CREDIT, sent by
//  executor_flush_credit at the end of the handler that freed them.
void
executor_send_credit (executor_t *self, int credits)
{
    self->credit_due += credits;
}

void
executor_flush_credit (executor_t *self)
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
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs))
        norc_u64list_append (&h->running, run->instance_id);
    norc_msg_send (&msg, self->dispatch);
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
    const char *command = self->revision_command;
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
void
executor_revision_ask (executor_t *self)
{
    //  (read at every start: the settings were read once, in executor_new)
    const char *command = self->revision_command;
    norc_us_t now = norc_mono_us ();
    if (!*command || self->revision_busy || (self->revision_at && now - self->revision_at < self->revision_every))
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
    executor_revision_ask (self);
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
void
executor_release (executor_t *self, uint64_t instance_id, const char *reason)
{
    norc_msg_t *release = norc_msg_new (NORC_MSG_RELEASE);
    release->release.executor_id = self->id;
    release->release.instance_id = instance_id;
    release->release.reason = norc_strdup (reason);
    norc_msg_send (&release, self->dispatch);
}

//  The machine cannot start work (no spool, no processes, no file
//  descriptors): SUSPENDED, no new work until a RESUME request.
void
executor_suspend (executor_t *self, const char *why)
{
    if (self->status != NORC_ST_RUNNING)
        return;
    self->status = NORC_ST_SUSPENDED;
    norc_log_error ("suspended: %s (norcctl control resume executor %llu when fixed)", why,
                    (unsigned long long) self->id);
    s_send_status (self, why);
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
            executor_release (self, msg->assign.instance_id, "the executor was frozen: it may be recorded dead");
            norc_log_warnx ("instance=%llu: assigned around a freeze; given back",
                            (unsigned long long) msg->assign.instance_id);
        }
        else
        if (zhashx_lookup (self->runs, executor_key (msg->assign.instance_id, key, sizeof key))
        ||  exec_run_started_before (self, msg->assign.instance_id)) {
            //  Never twice: whoever sent it again, its slot is still free;
            //  when it ended here, the record is told how again
            bool again = exec_run_report_again (self, msg->assign.instance_id);
            norc_log_warnx ("instance=%llu: assigned again after it started here; not started again%s",
                            (unsigned long long) msg->assign.instance_id, again ? " (its end reported again)" : "");
            executor_send_credit (self, 1);
        }
        else
        if ((int) zhashx_size (self->runs) >= self->concurrency 
        ||  self->status != NORC_ST_RUNNING)
            executor_release (self, msg->assign.instance_id,
                       self->status == NORC_ST_RUNNING ? "no free slot" : "not taking work");
        else
        if (self->benchmark_instant) {
            exec_run_remember_started (self, msg->assign.instance_id);
            exec_run_complete_at_once (self, &msg->assign);
        }
        else
            exec_run_start (self, &msg->assign);
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
    executor_flush_credit (self);
    return 0;
}

static void
s_send_status (executor_t *self, const char *reason)
{
    norc_link_status (self->link, self->status, reason);
}

static int
s_on_drain_over (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    executor_t *self = (executor_t *) arg;
    norc_log_warnx ("drain time over: interrupting %zu instances", zhashx_size (self->runs));
    exec_run_interrupt_all (self, "Executor stopping and the drain time is over: stopping the task.",
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
        exec_run_interrupt_all (self, "Executor stopped by a second signal: stopping the task.",
                         "stopped by a second signal");
    return self->done ? -1 : 0;
}

//  A control request from the aggregator (the link reports the new status
//  and answers)
static norc_link_outcome_t
s_control (void *arg, const norc_control_t *c)
{
    executor_t *self = (executor_t *) arg;
    if (c->instance_id)
        return (norc_link_outcome_t) { exec_run_control_instance (self, c), self->status, false, false };
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
                exec_run_record_all (self);
                self->status = NORC_ST_RUNNING;
            }
            break;
        case NORC_REQ_STOP:
            self->status = NORC_ST_STOPPING;
            self->end_reason = "stopped on request";
            break;
        case NORC_REQ_KILL:
            exec_run_interrupt_all (self, "Executor killed on request: stopping the task.", "killed on request");
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

//  The aggregator has an instance's end: its run's record goes
static void
s_end_acked (void *arg, uint64_t instance_id)
{
    executor_t *self = (executor_t *) arg;
    exec_spool_run_forget (self->spool, instance_id);
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
    char labels [160], queue [128];
    norc_metrics_escape (self->queue, queue, sizeof queue);
    snprintf (labels, sizeof labels, "queue=\"%s\",state=\"busy\"", queue);
    norc_metrics_set ("norc_executor_slots", labels, (double) zhashx_size (self->runs));
    snprintf (labels, sizeof labels, "queue=\"%s\",state=\"free\"", queue);
    norc_metrics_set ("norc_executor_slots", labels, (double) (self->concurrency - (int) zhashx_size (self->runs)));
    s_send_hello (self);
    //  Orphans that reached this executor after their instance ended
    exec_run_end_orphans (self, 0);
    if (self->cgroup) {
        int ended = exec_cgroup_sweep (self->cgroup, exec_run_running, self);
        if (ended)
            norc_log_info ("ended %d processes left in the cgroups of instances that ended", ended);
    }
    //  Logs without progress for a while (the archiver was away, or an ack
    //  was lost): send again from the last acknowledged byte
    norc_us_t stale = norc_mono_us () - 3 * self->period_ms * 1000;
    norc_us_t old = norc_mono_us () - self->period_ms * 1000;
    for (exec_log_t *log = (exec_log_t *) zhashx_first (self->logs_open); log;
         log = (exec_log_t *) zhashx_next (self->logs_open)) {
        //  Logs in memory for a heartbeat period (a long run, or the
        //  archiver is slow or away) go to disk
        if (!log->spool && log->opened < old)
            exec_log_spool (self->spool, log);
        if ((log->sent > log->acked || log->eof_sent) && log->progress < stale) {
            log->sent = log->acked < log->written ? log->acked : log->written;
            log->eof_sent = false;
            log->progress = norc_mono_us ();
        }
    }
    exec_log_pump (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Adoption of a dead executor's spool, start, run

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
        //  It started on this host: this executor never starts it again,
        //  whatever asks (a copy of its tick, an assignment the record
        //  has not yet seen ended)
        if (l->lost_run || l->ended)
            exec_run_remember_started (self, l->instance_id);
        const char *reason = l->stopped
            ? "executor lost while the task ran; its processes were stopped by the next executor on this host"
            : "executor lost while the task ran";
        //  A lost run whose log was still in memory: its closing lines go
        //  to the end of what the archiver holds
        exec_log_t *log = l->log || l->lost_run || l->ended ? exec_log_open (self, l->instance_id, NULL, l->log)
                                                            : NULL;
        if (log && !l->log) {
            log->append = true;
            norc_log_info ("instance=%llu: its log was not spooled; its closing lines go to the end of what the "
                           "archiver holds", (unsigned long long) l->instance_id);
        }
        if (l->ended) {
            //  It had ended and its end was on its way: reported as it
            //  was (its log closed by the executor that ran it; a log
            //  that was still in memory says that its output is lost)
            if (log && !l->log)
                exec_log_line (self->spool, log, "WARN", "Executor lost before this log was spooled: the "
                               "output of the run is lost; it ended with status %s.", norc_status_name (l->status));
            if (log)
                log->eof = true;
            norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
            msg->instance_ended.instance_id = l->instance_id;
            msg->instance_ended.status = l->status;
            msg->instance_ended.exit_code = l->exit_code;
            msg->instance_ended.signal = l->signal;
            msg->instance_ended.ended_us = norc_now_us ();
            msg->instance_ended.reason = norc_strdup ("its executor was lost before this end was recorded; "
                                                      "reported by the next executor on this host");
            msg->instance_ended.reason_code = l->exit_code >= 0 ? NORC_WHY_EXIT : NORC_WHY_SIGNAL;
            norc_link_send (self->link, &msg);
            continue;
        }
        if (log) {
            if (l->lost_run) {
                exec_log_line (self->spool, log, "ERROR", "Executor lost while the task ran: the run is lost%s.",
                            l->stopped ? " (its processes were stopped)" : "");
                exec_log_line (self->spool, log, "ERROR", "Task ended with status ERROR (%s).", reason);
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
    exec_log_pump (self);
}

int
executor_start (executor_t *self)
{
    static const double durations [] = { 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 10800, 43200 };
    norc_metrics_family ("norc_executor_slots", NORC_METRIC_GAUGE,
                         "This executor's slots, by state (busy: running an instance; free), as of its last heartbeat.",
                         NULL, 0);
    norc_metrics_family ("norc_instance_duration_seconds", NORC_METRIC_HISTOGRAM,
                         "How long the instances this executor ran took, from start to end, by queue and final status.",
                         durations, sizeof durations / sizeof durations [0]);
    //  Processes a task puts out of its process group (setsid) become this
    //  executor's children when their parents exit, so it can end them
    if (prctl (PR_SET_CHILD_SUBREAPER, 1) != 0)
        norc_log_warn ("cannot become the subreaper of its tasks: processes they start with setsid may outlive them");
    char err [512];
    const char *run_as = norc_config_str (self->config, "executor.run_as");
    if (*run_as) {
        if (exec_identity_lookup (&self->run_as, run_as, err, sizeof err) != NORC_OK) {
            norc_log_error ("%s", err);
            return NORC_ERROR;
        }
        if (self->run_as.name)
            norc_log_info ("tasks run as %s (uid %d, gid %d)", self->run_as.name, (int) self->run_as.uid,
                           (int) self->run_as.gid);
    }
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
    //  What an executor that died here left running in its cgroups ends;
    //  ours is noted for whoever adopts this slot
    const char *const *left;
    size_t left_count = exec_spool_cgroups_left (self->spool, &left);
    for (size_t i = 0; i < left_count; i++) {
        int ended = exec_cgroup_reap (left [i]);
        if (ended)
            norc_log_warn ("ended %d processes left running in %s by an executor that is gone", ended, left [i]);
    }
    if (self->cgroup && exec_spool_note_cgroup (self->spool, exec_cgroup_path (self->cgroup)) != NORC_OK)
        norc_log_warn ("spool: cannot note the cgroup subtree");
    //  Registered through the aggregator's API (the executor needs no database)
    norc_link_spec_t spec = { .kind = "executor", .host = self->host, .queue = self->queue,
                              .concurrency = self->concurrency, .control = s_control,
                              .registered = s_registered, .arg = self };
    self->link = norc_link_new (self->config, &spec);
    if (!self->link || norc_link_register (self->link, 60) != NORC_OK)
        return NORC_ERROR;
    norc_link_on_acked (self->link, s_end_acked, self);
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
    zloop_reader (self->loop, self->logs, exec_log_handle, self);
    zmq_pollitem_t item = { NULL, self->sigfd, ZMQ_POLLIN, 0 };
    zloop_poller (self->loop, &item, exec_run_handle_sigchld, self);
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
    for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run; run = (exec_run_t *) zhashx_next (self->runs)) {
        run->interrupted = true;
        kill (-run->child.pid, SIGTERM);
    }
    norc_us_t deadline = norc_mono_us () + self->grace_ms * 1000;
    bool killed = false;
    while (zhashx_size (self->runs) > 0) {
        if (!killed && norc_mono_us () > deadline) {
            for (exec_run_t *run = (exec_run_t *) zhashx_first (self->runs); run;
                 run = (exec_run_t *) zhashx_next (self->runs))
                kill (-run->child.pid, SIGKILL);
            killed = true;
        }
        zmq_pollitem_t item = { NULL, self->sigfd, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 100);
        exec_run_handle_sigchld (self->loop, &item, self);
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
                norc_link_read_acks (self->link);
            if (items [1].revents & ZMQ_POLLIN)
                exec_log_handle (self->loop, self->logs, self);
        }
    }
    norc_log_info ("stopped after %llu instances", (unsigned long long) self->completed);
}

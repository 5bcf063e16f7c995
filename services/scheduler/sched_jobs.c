//  sched_jobs.c - job runs, coordinated by the dispatcher: each step is
//  one transaction (norc_store_job_advance); its events go to the record
//  and the stream. See sched_internal.h.
#include "sched_internal.h"

//  --------------------------------------------------------------------------
//  Jobs: the dispatcher coordinates each running job. A step
//  (norc_store_job_advance, one transaction) starts the job, creates the
//  instances of nodes whose parents all succeeded, records the nodes below
//  a failure SKIPPED, and ends the job. Steps are taken when the job is
//  first seen waiting, when one of its nodes ends (instance.ended on the
//  aggregator's stream), at its timeout, and at every resync (the backstop
//  for a dropped notification or a new dispatcher). The events sent after
//  each step are for the record and the stream; the step itself is durable.

static int s_on_job_timeout (zloop_t *loop, int timer_id, void *arg);

static void
s_send_job_event (scheduler_t *self, uint64_t id, int status, norc_us_t started, const char *reason)
{
    norc_msg_t *msg;
    if (status == NORC_ST_RUNNING) {
        msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
        msg->instance_started.instance_id = id;
        msg->instance_started.started_us = started;
    }
    else {
        msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
        norc_instance_ended_t *m = &msg->instance_ended;
        m->instance_id = id;
        m->status = status;
        m->exit_code = -1;
        m->started_us = started;
        m->ended_us = norc_now_us ();
        m->reason = reason ? norc_strdup (reason) : NULL;
    }
    norc_link_send (self->link, &msg);
}

//  Ask the aggregator to stop a running node (as norcctl instance kill)
static void
s_stop_node (scheduler_t *self, uint64_t job_id, uint64_t node_instance_id)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = node_instance_id;
    msg->api_request.op = norc_strdup ("instance.kill");
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) node_instance_id);
    norc_strmap_set (&msg->api_request.args, "id", text);
    snprintf (text, sizeof text, "job #%llu, which ended", (unsigned long long) job_id);
    norc_strmap_set (&msg->api_request.args, "by", text);
    norc_msg_send (&msg, self->api);
}

int
sched_jobs_handle_api (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (arg);
    norc_msg_t *msg = norc_msg_recv (sock);
    if (msg && msg->id == NORC_MSG_API_REPLY && msg->api_reply.code != NORC_OK)
        norc_log_info ("instance=%llu: not stopped: %s", (unsigned long long) msg->api_reply.request_id,
                       msg->api_reply.error ? msg->api_reply.error : "?");
    norc_msg_destroy (&msg);
    return 0;
}

void
sched_jobs_advance (scheduler_t *self, uint64_t job_id, bool stop)
{
    if (!self->dispatch)
        return;
    norc_job_step_t step = { 0 };
    int rc = norc_store_job_advance (self->db, job_id, 0, &step);
    char key [32];
    sched_key (job_id, key, sizeof key);
    if (rc == NORC_NOTFOUND || rc == NORC_CONFLICT) {
        zhashx_delete (self->jobs, key);
        return;
    }
    if (rc) {
        norc_log_warnx ("job=%llu: cannot take its next step (again at the next resync): %s",
                        (unsigned long long) job_id, norc_db_errstr (self->db));
        return;
    }
    if (step.started) {
        norc_log_info ("job=%llu: started", (unsigned long long) job_id);
        s_send_job_event (self, job_id, NORC_ST_RUNNING, step.started_at, NULL);
    }
    for (size_t i = 0; i < step.active_count; i++) {
        uint64_t *of = (uint64_t *) norc_malloc (sizeof (uint64_t));
        *of = job_id;
        char node_key [32];
        zhashx_update (self->job_of, sched_key (step.active [i], node_key, sizeof node_key), of);
    }
    for (size_t i = 0; i < step.created_count; i++) {
        norc_instance_t *node = &step.created [i];
        norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_CREATED);
        norc_instance_created_t *m = &msg->instance_created;
        m->instance_id = node->id;
        m->task_id = node->task_id;
        m->task = norc_strdup (node->task ? node->task : "");
        m->queue = norc_strdup (node->queue ? node->queue : "");
        m->attempt = 1;
        norc_link_send (self->link, &msg);
        sched_dispatch_enqueue (self, sched_dispatch_work (node), false);
    }
    for (size_t i = 0; i < step.closed_count; i++)
        s_send_job_event (self, step.closed [i].id, step.closed [i].status, 0, step.closed [i].reason);
    if (step.ended) {
        const char *name = norc_status_name (step.status);
        norc_log_info ("job=%llu: %s%s%s", (unsigned long long) job_id, name ? name : "?",
                       step.reason ? ": " : "", step.reason ? step.reason : "");
        s_send_job_event (self, job_id, step.status, step.started_at, step.reason);
    }
    if (step.ended || stop)
        for (size_t i = 0; i < step.stop_count; i++)
            s_stop_node (self, job_id, step.stop [i]);
    if (NORC_STATUS_IS_FINAL (step.status))
        zhashx_delete (self->jobs, key);
    else
    if (!zhashx_lookup (self->jobs, key)) {
        norc_us_t *deadline = (norc_us_t *) norc_malloc (sizeof (norc_us_t));
        *deadline = step.timeout_s ? step.started_at + (norc_us_t) step.timeout_s * NORC_US_PER_SEC : 0;
        zhashx_insert (self->jobs, key, deadline);
        if (*deadline) {
            norc_us_t wait = *deadline - norc_now_us ();
            zloop_timer (self->loop, wait > 0 ? (size_t) (wait / 1000) + 2 : 1, 1, s_on_job_timeout, self);
        }
    }
    norc_job_step_clear (&step);
    sched_dispatch (self);
}

//  Jobs past their timeout end TIMEDOUT, and their nodes are stopped
static int
s_on_job_timeout (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    scheduler_t *self = (scheduler_t *) arg;
    norc_us_t now = norc_now_us ();
    size_t count = 0;
    uint64_t *due = (uint64_t *) norc_calloc (zhashx_size (self->jobs) + 1, sizeof (uint64_t));
    for (norc_us_t *deadline = (norc_us_t *) zhashx_first (self->jobs); deadline;
         deadline = (norc_us_t *) zhashx_next (self->jobs))
        if (*deadline && *deadline <= now)
            due [count++] = strtoull ((const char *) zhashx_cursor (self->jobs), NULL, 10);
    for (size_t i = 0; i < count; i++)
        sched_jobs_advance (self, due [i], false);
    free (due);
    return 0;
}

//  An instance ended: a step for its job, if it is a job's node, or for
//  the job itself, if someone else ended it (norcctl instance kill)
void
sched_jobs_instance_ended (scheduler_t *self, uint64_t id)
{
    char key [32];
    sched_key (id, key, sizeof key);
    uint64_t *of = (uint64_t *) zhashx_lookup (self->job_of, key);
    if (of) {
        uint64_t job_id = *of;
        zhashx_delete (self->job_of, key);
        sched_jobs_advance (self, job_id, false);
    }
    else
    if (zhashx_lookup (self->jobs, key))
        sched_jobs_advance (self, id, true);
}

//  Every running job takes a step (after a new dispatcher takes over, and
//  as the backstop for a lost notification)
void
sched_jobs_resync (scheduler_t *self)
{
    uint64_t *ids = NULL;
    size_t count = 0;
    if (norc_store_job_running (self->db, &ids, &count) != NORC_OK) {
        norc_log_warnx ("db: cannot read running jobs: %s", norc_db_errstr (self->db));
        return;
    }
    for (size_t i = 0; i < count && self->dispatch; i++)
        sched_jobs_advance (self, ids [i], false);
    free (ids);
}

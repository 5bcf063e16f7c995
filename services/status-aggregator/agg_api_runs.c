//  agg_api_runs.c - manual runs and what a user asks of instances: the
//  status reports, show, kill, handle, rerun.
#include "agg_api_internal.h"
#include "norc_store.h"
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <ctype.h>
#include <errno.h>

//  --------------------------------------------------------------------------
//  Runs and reports

void
agg_op_run (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t task = { 0 };
    norc_queue_t queue = { 0 };
    if (agg_live_task (self, agg_arg (args, "task"), &task, reply)
    &&  agg_push_queue (self, agg_arg (args, "queue"), &queue, reply)) {
        uint64_t id = 0;
        int rc = norc_store_instance_manual (self->db, task.id, queue.id, &id);
        if (rc)
            agg_reply_store (self, reply, rc, "cannot create the instance");
        else {
            agg_row_u64 (reply, "id", id);
            agg_warn_unserved (self, &queue, reply);
            norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
            event->event.instance_id = id;
            event->event.task = norc_strdup (task.name);
            event->event.queue = norc_strdup (queue.name);
            event->event.status = NORC_ST_CREATED;
            event->event.status_name = norc_strdup ("CREATED");
            event->event.attempt = 1;
            event->event.detail = norc_strdup ("manual run");
            agg_api_publish (self->stream, &event, "instance.created");
        }
    }
    norc_queue_clear (&queue);
    norc_task_clear (&task);
}

static norc_us_t
s_since (const norc_strmap_t *args, const char *deflt)
{
    const char *text = agg_arg (args, "since");
    if (!text)
        text = deflt;
    if (!text || strcmp (text, "all") == 0)
        return 0;
    char *end;
    long long n = strtoll (text, &end, 10);
    long long unit = strcmp (end, "m") == 0 ? 60 : strcmp (end, "h") == 0 ? 3600
                   : strcmp (end, "d") == 0 ? 86400 : strcmp (end, "s") == 0 || !*end ? 1 : -1;
    if (n <= 0 || unit < 0)
        return -1;
    return norc_now_us () - n * unit * NORC_US_PER_SEC;
}

static void
s_status (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply, int kind)
{
    norc_us_t since = s_since (args, "10m");
    if (since < 0) {
        agg_reply_error (reply, NORC_ERROR, "bad --since \"%s\": use 10m 30m 1h 3h 12h 1d 7d or all",
                       agg_arg (args, "since"));
        return;
    }
    int rc = norc_store_daemon_list (self->db, kind, since, norc_now_us () - self->alive_ms * 1000,
                                     &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read daemons");
}

void
agg_op_status_executors (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_EXECUTOR);
}

void
agg_op_status_schedulers (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_SCHEDULER);
}

void
agg_op_status_bridges (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_BRIDGE);
}

void
agg_op_status_archivers (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_ARCHIVER);
}

void
agg_op_status_instances (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_us_t since = s_since (args, "all");
    int64_t limit;
    if (since < 0) {
        agg_reply_error (reply, NORC_ERROR, "bad --since \"%s\": use 10m 30m 1h 3h 12h 1d 7d or all",
                       agg_arg (args, "since"));
        return;
    }
    if (!agg_arg_int (args, "limit", 0, 10000000, &limit, reply))
        return;
    norc_instance_filter_t f = { .since = since, .limit = (int) limit, .queue = agg_arg (args, "queue"),
                                 .task = agg_arg (args, "task"), .host = agg_arg (args, "host") };
    //  A status group, or one status by name
    static const struct { const char *name; int min, max; } groups [] = {
        { "waiting", 1, 1 }, { "running", 2, 6 }, { "succeeded", 7, 12 }, { "failed", 13, 255 }
    };
    const char *status = agg_arg (args, "status");
    if (agg_arg_flag (args, "failed"))
        status = "failed";
    for (size_t i = 0; status && i < sizeof groups / sizeof groups [0]; i++)
        if (strcmp (status, groups [i].name) == 0)
            f.status_min = groups [i].min, f.status_max = groups [i].max;
    if (status && !f.status_max) {
        int code = norc_status_code (status);
        if (code < 0) {
            agg_reply_error (reply, NORC_ERROR, "bad status \"%s\": waiting, running, succeeded, failed, or a "
                             "status's name (SUCCESS, FAILURE...)", status);
            return;
        }
        f.status_min = f.status_max = code;
    }
    const char *until = agg_arg (args, "until");
    if (until && norc_time_parse (until, &f.until) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "bad until \"%s\": an ISO-8601 time", until);
        return;
    }
    const char *before = agg_arg (args, "before");
    if (before && norc_id_parse (before, &f.before) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "bad before \"%s\": an instance id (the last of the page before)", before);
        return;
    }
    int rc = norc_store_instance_query (self->db, &f, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read instances");
}

//  The instance named by args "id" (also "#ID"), read into inst. False,
//  with the error in reply, when there is none.
static bool
s_instance_arg (agg_api_t *self, const norc_strmap_t *args, norc_instance_t *inst, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, "id");
    uint64_t id;
    if (norc_id_parse (text, &id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, text ? "\"%s\" is not an instance id (a number from 1)"
                                               : "an instance id is required", text);
        return false;
    }
    int rc = norc_store_instance_get (self->db, id, inst);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown instance %llu", (unsigned long long) id);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the instance");
    return rc == NORC_OK;
}

static void
s_instance_event (agg_api_t *self, const norc_instance_t *inst, int status, const char *topic, const char *detail)
{
    norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
    event->event.instance_id = inst->id;
    event->event.task = norc_strdup (inst->task ? inst->task : "");
    event->event.queue = norc_strdup (inst->queue ? inst->queue : "");
    event->event.status = status;
    const char *name = norc_status_name (status);
    event->event.status_name = norc_strdup (name ? name : "?");
    event->event.attempt = inst->attempt;
    event->event.detail = norc_strdup (detail);
    agg_api_publish (self->stream, &event, topic);
}

//  instance kill: a waiting instance ends KILLED here; a running one is
//  stopped by its executor (SIGTERM to its process group, SIGKILL after the
//  grace period) and reported KILLED by it.
void
agg_op_instance_kill (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (!s_instance_arg (self, args, &inst, reply)) {
        norc_instance_clear (&inst);
        return;
    }
    const char *by = agg_arg (args, "by") ? agg_arg (args, "by") : "norcctl";
    char *reason = norc_asprintf ("killed on request by %s", by);
    const char *name = norc_status_name (inst.status);
    if (NORC_STATUS_IS_FINAL (inst.status))
        agg_reply_error (reply, NORC_CONFLICT, "instance %llu has already ended (%s)", (unsigned long long) inst.id,
                       name ? name : "?");
    else
    if ((inst.status == NORC_ST_CREATED || inst.task_kind == NORC_TASK_JOB) && !inst.executor_id) {
        //  Waiting, or a job (it runs on no executor: the dispatcher stops its nodes)
        int rc = norc_store_instance_cancel (self->db, inst.id, reason);
        if (rc == NORC_CONFLICT)
            agg_reply_error (reply, rc, "instance %llu was just handed to an executor: try again",
                           (unsigned long long) inst.id);
        else
        if (rc)
            agg_reply_store (self, reply, rc, "cannot kill the instance");
        else {
            agg_row_u64 (reply, "id", inst.id);
            norc_strmap_set (&reply->rows.rows [0], "outcome", inst.status == NORC_ST_CREATED
                             ? "killed before it started" : "job killed: its running nodes are being stopped");
            s_instance_event (self, &inst, NORC_ST_KILLED, "instance.ended", reason);
        }
    }
    else
    if (self->deliver && self->deliver (self->owner, inst.executor_id, 0, NORC_REQ_KILL, by, inst.id)) {
        agg_row_u64 (reply, "id", inst.id);
        norc_strmap_set (&reply->rows.rows [0], "outcome", "sent to its executor");
    }
    else
        agg_reply_error (reply, NORC_AGAIN, "executor %llu, which holds instance %llu, is not connected",
                       (unsigned long long) inst.executor_id, (unsigned long long) inst.id);
    free (reason);
    norc_instance_clear (&inst);
}

void
agg_op_instance_handle_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (s_instance_arg (self, args, &inst, reply)) {
        const char *by = agg_arg (args, "by") ? agg_arg (args, "by") : "norcctl";
        int rc = norc_store_instance_handle (self->db, inst.id, by);
        const char *name = norc_status_name (inst.status);
        if (rc == NORC_CONFLICT)
            agg_reply_error (reply, rc, "instance %llu is %s, not a failure: nothing to handle",
                           (unsigned long long) inst.id, name ? name : "?");
        else
        if (rc)
            agg_reply_store (self, reply, rc, "cannot handle the instance");
        else {
            agg_row_u64 (reply, "id", inst.id);
            char *detail = norc_asprintf ("handled by %s (was %s)", by, name ? name : "?");
            s_instance_event (self, &inst, NORC_ST_HANDLED, "instance.handled", detail);
            free (detail);
        }
    }
    norc_instance_clear (&inst);
}

//  instance rerun: a new manual instance of the same task on the same queue
void
agg_op_instance_rerun (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (s_instance_arg (self, args, &inst, reply)) {
        uint64_t id = 0;
        int rc = norc_store_instance_manual (self->db, inst.task_id, inst.queue_id, &id);
        if (rc)
            agg_reply_store (self, reply, rc, "cannot create the instance");
        else {
            agg_row_u64 (reply, "id", id);
            char *detail = norc_asprintf ("rerun of #%llu", (unsigned long long) inst.id);
            uint64_t old = inst.id;
            inst.id = id;
            inst.attempt = 1;
            s_instance_event (self, &inst, NORC_ST_CREATED, "instance.created", detail);
            inst.id = old;
            free (detail);
        }
    }
    norc_instance_clear (&inst);
}

void
agg_op_instance_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (!s_instance_arg (self, args, &inst, reply)) {
        norc_instance_clear (&inst);
        return;
    }
    unsigned long long id = inst.id;
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char v [64];
    snprintf (v, sizeof v, "%llu", id);
    norc_strmap_set (row, "id", v);
    norc_strmap_set (row, "task", inst.task);
    norc_strmap_set (row, "queue", inst.queue);
    snprintf (v, sizeof v, "%d", inst.status);
    norc_strmap_set (row, "status", v);
    snprintf (v, sizeof v, "%llu", (unsigned long long) inst.executor_id);
    norc_strmap_set (row, "executor_id", v);
    norc_strmap_set (row, "log_path", inst.log_path ? inst.log_path : "");
    norc_strmap_set (row, "started", inst.started ? norc_time_iso (inst.started, v, sizeof v) : "");
    norc_strmap_set (row, "ended", inst.ended ? norc_time_iso (inst.ended, v, sizeof v) : "");
    if (inst.has_exit) {
        snprintf (v, sizeof v, "%d", inst.exit_code);
        norc_strmap_set (row, "exit_code", v);
    }
    snprintf (v, sizeof v, "%d", inst.attempt);
    norc_strmap_set (row, "attempt", v);
    if (inst.retry_of) {
        snprintf (v, sizeof v, "%llu", (unsigned long long) inst.retry_of);
        norc_strmap_set (row, "retry_of", v);
    }
    if (inst.revision)
        norc_strmap_set (row, "revision", inst.revision);
    if (inst.reason)
        norc_strmap_set (row, "reason", inst.reason);
    if (NORC_STATUS_IS_FINAL (inst.status) && norc_why_name (inst.reason_code))
        norc_strmap_set (row, "why", norc_why_name (inst.reason_code));
    norc_archive_t archive = { 0 };
    if (norc_store_archive_get (self->db, inst.id, &archive) == NORC_OK) {
        norc_strmap_set (row, "archive_key", archive.object_key);
        snprintf (v, sizeof v, "%llu", (unsigned long long) archive.size);
        norc_strmap_set (row, "archive_size", v);
        norc_strmap_set (row, "archive_sha256", archive.sha256);
        norc_strmap_set (row, "archived", norc_time_iso (archive.archived_at, v, sizeof v));
    }
    norc_archive_clear (&archive);
    norc_instance_clear (&inst);
}

//  The log-archiver copied a log to S3: its object, size and hash recorded
void
agg_op_instance_archived (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_archive_t a = { 0 };
    int64_t size = 0;
    const char *id = agg_arg (args, "instance"), *key = agg_arg (args, "key"), *sha = agg_arg (args, "sha256");
    if (norc_id_parse (id, &a.instance_id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "instance: \"%s\" is not an id (a number from 1)", id ? id : "");
        return;
    }
    if (!agg_arg_int (args, "size", 0, INT64_MAX, &size, reply))
        return;
    bool hex = sha && strlen (sha) == 64;
    for (const char *c = sha; hex && *c; c++)
        hex = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f');
    if (!key || !hex) {
        agg_reply_error (reply, NORC_ERROR, "%s", !key ? "a key is required"
                                                  : "sha256: 64 lower-case hex digits are required");
        return;
    }
    a.size = (uint64_t) size;
    snprintf (a.sha256, sizeof a.sha256, "%s", sha);
    a.object_key = (char *) key;
    int rc = norc_store_archive_put (self->db, &a);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, NORC_NOTFOUND, "no instance %llu", (unsigned long long) a.instance_id);
    else
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, NORC_CONFLICT, "instance %llu's log was archived before with another size or hash",
                         (unsigned long long) a.instance_id);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot record the archived log");
}

//  Whether the caller may read the instance's log (the role says so); the
//  byte range was held to the schema's min and max before (agg_api_handle),
//  so norc-web fetches only a valid one
void
agg_op_instance_log (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (s_instance_arg (self, args, &inst, reply)) {
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        char v [32];
        snprintf (v, sizeof v, "%llu", (unsigned long long) inst.id);
        norc_strmap_set (row, "id", v);
        norc_strmap_set (row, "task", inst.task);
        snprintf (v, sizeof v, "%d", inst.status);
        norc_strmap_set (row, "status", v);
    }
    norc_instance_clear (&inst);
}

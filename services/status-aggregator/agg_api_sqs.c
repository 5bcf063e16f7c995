//  agg_api_sqs.c - the operations a norc-sqs-bridge asks: the claim of a
//  tick it received from SQS for one of its executors, and the release of
//  a claimed instance its executor gives back (docs/sqs.md).
#include "agg_api_internal.h"
#include "norc_tick.h"
#include "norc_mem.h"

static bool
s_id (const norc_strmap_t *args, const char *key, uint64_t *id, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, key);
    if (norc_id_parse (text, id) == NORC_OK)
        return true;
    agg_reply_error (reply, NORC_ERROR, "%s: \"%s\" is not an id (a number from 1)", key, text ? text : "");
    return false;
}

//  The executor a claim is for: registered, alive, an executor
static bool
s_live_executor (agg_api_t *self, uint64_t id, norc_api_reply_t *reply)
{
    norc_daemon_t d = { 0 };
    int rc = norc_store_daemon_get (self->db, id, &d);
    bool live = rc == NORC_OK && d.kind == NORC_DAEMON_EXECUTOR && !NORC_STATUS_IS_FINAL (d.status);
    norc_daemon_clear (&d);
    if (rc && rc != NORC_NOTFOUND)
        agg_reply_store (self, reply, rc, "cannot read the executor");
    else
    if (!live)
        agg_reply_error (reply, NORC_CONFLICT, "executor %llu is not a live executor", (unsigned long long) id);
    return live;
}

static void
s_claim_row (norc_strmap_t *row, const norc_instance_t *inst, const norc_task_t *task, const char *digest)
{
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) task->id);
    norc_strmap_set (row, "task_id", text);
    norc_strmap_set (row, "task", task->name);
    snprintf (text, sizeof text, "%d", inst->attempt);
    norc_strmap_set (row, "attempt", text);
    norc_strmap_set (row, "command", task->command ? task->command : "true");
    norc_strmap_set (row, "cwd", task->cwd ? task->cwd : "");
    snprintf (text, sizeof text, "%d", task->timeout_s);
    norc_strmap_set (row, "timeout_s", text);
    snprintf (text, sizeof text, "%lld", (long long) task->log_max_bytes);
    norc_strmap_set (row, "log_max_bytes", text);
    char path [64];
    norc_strmap_set (row, "log_path", inst->log_path ? inst->log_path : norc_log_path (inst->id, path, sizeof path));
    snprintf (text, sizeof text, "%lld", (long long) inst->nominal);
    norc_strmap_set (row, "nominal_us", text);
    norc_strmap_set (row, "queue", inst->queue ? inst->queue : "");
    norc_strmap_set (row, "digest", digest);
    for (size_t i = 0; i < task->env.count; i++) {
        char key [300];
        snprintf (key, sizeof key, "env.%s", task->env.keys [i]);
        norc_strmap_set (row, key, task->env.values [i]);
    }
}

void
agg_op_sqs_claim (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id = 0, executor = 0;
    int64_t attempt = 0;
    const char *digest = agg_arg (args, "digest");
    if (!s_id (args, "instance", &id, reply) || !s_id (args, "executor", &executor, reply)
    ||  !agg_arg_int (args, "attempt", 1, 1000000, &attempt, reply))
        return;
    if (!digest) {
        agg_reply_error (reply, NORC_ERROR, "a digest is required");
        return;
    }
    if (!s_live_executor (self, executor, reply))
        return;
    norc_instance_t inst = { 0 };
    norc_task_t task = { 0 };
    char hex [65] = "";
    int rc = norc_store_instance_get (self->db, id, &inst);
    if (rc == NORC_OK) {
        char name [32];
        snprintf (name, sizeof name, "#%llu", (unsigned long long) inst.task_id);
        rc = norc_store_task_get (self->db, name, &task);
    }
    if (rc == NORC_OK)
        norc_tick_digest (task.command ? task.command : "true", task.cwd, task.timeout_s, task.log_max_bytes,
                          &task.env, hex);
    int outcome = NORC_CLAIM_CANCELLED;
    uint64_t holder = 0;
    char why [256] = "";
    if (rc == NORC_OK || rc == NORC_NOTFOUND) {
        norc_claim_t claim = { id, (int) attempt, executor, strcmp (hex, digest) == 0 };
        rc = norc_store_claim (self->db, &claim, &outcome, &holder, why, sizeof why);
    }
    if (rc)
        agg_reply_store (self, reply, rc, "cannot claim the instance");
    else {
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        norc_strmap_set (row, "outcome", outcome == NORC_CLAIM_ACCEPTED ? "accepted"
                                       : outcome == NORC_CLAIM_DUPLICATE ? "duplicate" : "cancelled");
        norc_strmap_set (row, "reason", why);
        if (holder) {
            char text [32];
            snprintf (text, sizeof text, "%llu", (unsigned long long) holder);
            norc_strmap_set (row, "holder", text);
        }
        if (outcome == NORC_CLAIM_ACCEPTED) {
            s_claim_row (row, &inst, &task, hex);
            norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
            event->event.time_us = norc_now_us ();
            event->event.instance_id = id;
            event->event.schedule_id = inst.schedule_id;
            event->event.daemon_id = executor;
            event->event.task = norc_strdup (task.name);
            event->event.queue = norc_strdup (inst.queue ? inst.queue : "");
            event->event.status = NORC_ST_CREATED;
            event->event.status_name = norc_strdup ("CREATED");
            event->event.nominal_us = inst.nominal;
            event->event.attempt = inst.attempt;
            event->event.detail = norc_strdup ("claimed from SQS");
            agg_api_publish (self->stream, &event, "instance.claimed");
        }
    }
    norc_instance_clear (&inst);
    norc_task_clear (&task);
}

void
agg_op_sqs_release (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id = 0, executor = 0;
    if (!s_id (args, "instance", &id, reply) || !s_id (args, "executor", &executor, reply))
        return;
    int rc = norc_store_instance_unassign (self->db, id, executor, 0);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "instance %llu is not waiting on executor %llu", (unsigned long long) id,
                         (unsigned long long) executor);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot release the instance");
    else {
        //  Waiting again: the scheduler hands it to the sending bridge
        norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
        event->event.time_us = norc_now_us ();
        event->event.instance_id = id;
        event->event.status = NORC_ST_CREATED;
        event->event.status_name = norc_strdup ("CREATED");
        event->event.detail = norc_strdup ("given back by its executor: sent again");
        agg_api_publish (self->stream, &event, "instance.requeued");
    }
}

void
agg_op_sqs_waiting (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id = 0;
    const char *reason = agg_arg (args, "reason");
    if (!s_id (args, "instance", &id, reply))
        return;
    if (!reason) {
        agg_reply_error (reply, NORC_ERROR, "a reason is required");
        return;
    }
    int rc = norc_store_claim_waiting (self->db, id, reason);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, NORC_NOTFOUND, "instance %llu does not wait in an sqs queue", (unsigned long long) id);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot record why the instance waits");
}

//  agg_api.c - the definitions, reports and manual runs norcctl asks for.
//  One table of operations; each reads its string arguments, makes one
//  store call and fills the reply. Every refusal is one line that names
//  what is wrong ("unknown queue \"Q\"").
#include "agg_api.h"
#include "norc_store.h"
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <ctype.h>
#include <errno.h>
#include <unistd.h>

typedef void (s_op_fn) (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply);

static void
s_reply_error (norc_api_reply_t *reply, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_reply_error (norc_api_reply_t *reply, int code, const char *fmt, ...)
{
    char text [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    reply->code = code;
    free (reply->error);
    reply->error = norc_strdup (text);
}

//  A store failure that is not the caller's fault
static void
s_reply_store (agg_api_t *self, norc_api_reply_t *reply, int rc, const char *what)
{
    int64_t down_ms = norc_db_down_ms (self->db);
    if (rc == NORC_AGAIN && down_ms)
        s_reply_error (reply, rc, "%s: the database is unavailable (for %lld s): %s", what,
                       (long long) (down_ms + 999) / 1000, norc_db_errstr (self->db));
    else
    if (rc == NORC_AGAIN)
        s_reply_error (reply, rc, "%s: the database is unavailable (%s)", what, norc_db_errstr (self->db));
    else
        s_reply_error (reply, rc, "%s: %s", what, norc_db_errstr (self->db));
}

static const char *
s_arg (const norc_strmap_t *args, const char *key)
{
    const char *value = norc_strmap_get (args, key);
    return value && *value ? value : NULL;
}

//  Parse an optional non-negative integer argument. false on a bad value
//  (the reply is filled).
static bool
s_arg_int (const norc_strmap_t *args, const char *key, int64_t deflt, int64_t max,
           int64_t *value, norc_api_reply_t *reply)
{
    const char *text = s_arg (args, key);
    if (!text) {
        *value = deflt;
        return true;
    }
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < 0 || v > max) {
        s_reply_error (reply, NORC_ERROR, "bad %s \"%s\": expected a whole number from 0 to %lld",
                       key, text, (long long) max);
        return false;
    }
    *value = v;
    return true;
}

//  An optional size (digits with an optional K, M, G or T suffix), up to
//  max bytes. false on a bad value (the reply is filled).
static bool
s_arg_size (const norc_strmap_t *args, const char *key, int64_t max, int64_t *value, norc_api_reply_t *reply)
{
    const char *text = s_arg (args, key);
    *value = 0;
    if (text && (norc_size_parse (text, value) != NORC_OK || *value > max)) {
        s_reply_error (reply, NORC_ERROR, "bad %s \"%s\": expected a size from 0 to %lld bytes, in bytes "
                       "or with K, M, G or T (e.g. 64M)", key, text, (long long) max);
        return false;
    }
    return true;
}

static bool
s_arg_flag (const norc_strmap_t *args, const char *key)
{
    const char *text = s_arg (args, key);
    return text && (strcmp (text, "1") == 0 || strcmp (text, "true") == 0 || strcmp (text, "yes") == 0);
}

static bool
s_valid_name (const char *name, norc_api_reply_t *reply, const char *what)
{
    if (!name) {
        s_reply_error (reply, NORC_ERROR, "a %s name is required", what);
        return false;
    }
    size_t n = strlen (name);
    bool ok = n <= 64 && name [0] != '#';
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum ((unsigned char) name [i]) || strchr ("_-.:@", name [i]);
    if (!ok)
        s_reply_error (reply, NORC_ERROR, "bad %s name \"%.80s\": use up to 64 letters, digits "
                       "and _ - . : @, not starting with #", what, name);
    return ok;
}

void
agg_api_publish (zsock_t *stream, norc_msg_t **event_p, const char *topic)
{
    norc_msg_t *event = *event_p;
    if (event->id == NORC_MSG_EVENT) {
        free (event->event.topic);
        event->event.topic = norc_strdup (topic);
        if (!event->event.time_us)
            event->event.time_us = norc_now_us ();
    }
    norc_msg_publish (event_p, stream, topic);
}

void
agg_api_notify_schedule (zsock_t *stream, uint64_t id, const char *op)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SCHEDULE_CHANGED);
    msg->schedule_changed.schedule_id = id;
    msg->schedule_changed.op = norc_strdup (op);
    norc_msg_publish (&msg, stream, "schedule.changed");
}

static void
s_notify_schedule (agg_api_t *self, uint64_t id, const char *op)
{
    agg_api_notify_schedule (self->stream, id, op);
}

//  When no live executor takes work from the queue, a warning in the
//  reply's first row (norcctl prints it): the work would wait unseen.
static void
s_warn_unserved (agg_api_t *self, const norc_queue_t *queue, norc_api_reply_t *reply)
{
    int64_t servers = 1;
    if (norc_store_queue_servers (self->db, queue->id, norc_now_us () - self->alive_ms * 1000, &servers) == NORC_OK
    &&  servers == 0 && reply->rows.count) {
        char *text = norc_asprintf ("no live executor serves queue %s: it waits until one does "
                                    "(start one with: norc-executor %s -c N)", queue->name, queue->name);
        norc_strmap_set (&reply->rows.rows [0], "warning", text);
        free (text);
    }
}

static void
s_row_u64 (norc_api_reply_t *reply, const char *key, uint64_t value)
{
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) value);
    norc_strmap_set (norc_rows_add (&reply->rows), key, text);
}

//  --------------------------------------------------------------------------
//  Queues

static void
s_queue_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    if (!s_valid_name (name, reply, "queue"))
        return;
    const char *kind_text = s_arg (args, "kind");
    int kind = NORC_QUEUE_DB;
    if (kind_text && strcmp (kind_text, "sqs") == 0)
        kind = NORC_QUEUE_SQS;
    else
    if (kind_text && strcmp (kind_text, "db") != 0) {
        s_reply_error (reply, NORC_ERROR, "bad queue kind \"%s\": use db or sqs", kind_text);
        return;
    }
    uint64_t id = 0;
    int rc = norc_store_queue_add (self->db, name, kind, &id);
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "a queue or group named \"%s\" already exists", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot add the queue");
    else
        s_row_u64 (reply, "id", id);
}

static void
s_queue_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_queue_list (self->db, norc_now_us () - self->alive_ms * 1000, &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot list queues");
}

static void
s_queue_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    if (!s_valid_name (name, reply, "queue"))
        return;
    int rc = norc_store_queue_rm (self->db, name);
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "unknown queue \"%s\"", name);
    else
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "queue \"%s\" is in use (schedules, instances, groups or executors "
                       "refer to it)", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot remove the queue");
}

static void
s_group_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    const char *members = s_arg (args, "members");
    if (!s_valid_name (name, reply, "group"))
        return;
    if (!members) {
        s_reply_error (reply, NORC_ERROR, "a group needs members QUEUE:PRIORITY ...");
        return;
    }
    char *copy = norc_strdup (members);
    const char *queues [256];
    int priorities [256];
    size_t count = 0;
    for (char *item = strtok (copy, ", "); item && count < 256; item = strtok (NULL, ", ")) {
        char *colon = strrchr (item, ':');
        char *end = NULL;
        long priority = colon ? strtol (colon + 1, &end, 10) : -1;
        if (!colon || *end || priority < 0) {
            s_reply_error (reply, NORC_ERROR, "bad member \"%s\": expected QUEUE:PRIORITY", item);
            free (copy);
            return;
        }
        *colon = 0;
        queues [count] = item;
        priorities [count++] = (int) priority;
    }
    uint64_t id = 0;
    int rc = norc_store_group_add (self->db, name, queues, priorities, count, &id);
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "a member queue does not exist");
    else
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "\"%s\" already exists, a member is a group, or a queue is listed twice", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot add the group");
    else
        s_row_u64 (reply, "id", id);
    free (copy);
}

//  --------------------------------------------------------------------------
//  Tasks

static void
s_task_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    const char *command = s_arg (args, "command");
    if (!s_valid_name (name, reply, "task"))
        return;
    if (!command || !*command) {
        s_reply_error (reply, NORC_ERROR, "a command task needs --command (or --command-file)");
        return;
    }
    if (strlen (command) > NORC_COMMAND_MAX) {
        s_reply_error (reply, NORC_ERROR, "the command is %zu bytes, over the limit of %d", strlen (command),
                       NORC_COMMAND_MAX);
        return;
    }
    int64_t timeout, retries, backoff, cap, log_max;
    if (!s_arg_int (args, "timeout", 0, 86400 * 365, &timeout, reply)
    ||  !s_arg_size (args, "log_max", INT64_C (1) << 40, &log_max, reply)
    ||  !s_arg_int (args, "retries", 0, 100, &retries, reply)
    ||  !s_arg_int (args, "retry_backoff", 1, 86400, &backoff, reply)
    ||  !s_arg_int (args, "retry_cap", 1, 86400 * 7, &cap, reply))
        return;
    if (!s_arg (args, "retry_backoff"))
        backoff = 10;
    if (!s_arg (args, "retry_cap"))
        cap = 3600;
    norc_task_t task = { 0 };
    task.name = norc_strdup (name);
    task.kind = NORC_TASK_COMMAND;
    task.command = norc_strdup (command);
    task.timeout_s = (int) timeout;
    task.log_max_bytes = log_max;
    task.retry_max = (int) retries;
    task.retry_backoff_s = (int) backoff;
    task.retry_cap_s = (int) cap;
    const char *cwd = s_arg (args, "cwd");
    task.cwd = cwd ? norc_strdup (cwd) : NULL;
    const char *description = s_arg (args, "description");
    task.description = description ? norc_strdup (description) : NULL;
    for (size_t i = 0; i < args->count; i++)
        if (strncmp (args->keys [i], "env.", 4) == 0 && args->keys [i][4])
            norc_strmap_set (&task.env, args->keys [i] + 4, args->values [i]);
    int rc = norc_store_task_add (self->db, &task);
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "a task named \"%s\" already exists", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot add the task");
    else
        s_row_u64 (reply, "id", task.id);
    norc_task_clear (&task);
}

static void
s_task_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_task_list (self->db, &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot list tasks");
}

static void
s_task_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    if (!name) {
        s_reply_error (reply, NORC_ERROR, "a task name is required");
        return;
    }
    norc_task_t task = { 0 };
    int rc = norc_store_task_get (self->db, name, &task);
    if (rc == NORC_NOTFOUND || (rc == NORC_OK && task.deleted_at)) {
        s_reply_error (reply, NORC_NOTFOUND, "unknown task \"%s\"", name);
        norc_task_clear (&task);
        return;
    }
    if (rc) {
        s_reply_store (self, reply, rc, "cannot read the task");
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) task.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "name", task.name);
    norc_strmap_set (row, "kind", task.kind == NORC_TASK_JOB ? "job" : "command");
    norc_strmap_set (row, "command", task.command ? task.command : "");
    snprintf (text, sizeof text, "%d", task.timeout_s);
    norc_strmap_set (row, "timeout", text);
    snprintf (text, sizeof text, "%lld", (long long) task.log_max_bytes);
    norc_strmap_set (row, "log_max_bytes", text);
    norc_strmap_set (row, "cwd", task.cwd ? task.cwd : "");
    snprintf (text, sizeof text, "%d", task.retry_max);
    norc_strmap_set (row, "retries", text);
    for (size_t i = 0; i < task.env.count; i++) {
        char key [300];
        snprintf (key, sizeof key, "env.%s", task.env.keys [i]);
        norc_strmap_set (row, key, task.env.values [i]);
    }
    norc_task_clear (&task);
}

static void
s_task_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    if (!s_valid_name (name, reply, "task"))
        return;
    int rc = norc_store_task_rm (self->db, name);
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "unknown task \"%s\"", name);
    else
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "task \"%s\" has live schedules; remove them first", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot remove the task");
}

//  --------------------------------------------------------------------------
//  Jobs

static bool s_live_task (agg_api_t *self, const char *name, norc_task_t *task, norc_api_reply_t *reply);

static bool
s_valid_node_name (const char *name)
{
    size_t n = strlen (name);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum ((unsigned char) name [i]) || strchr ("_-.", name [i]);
    return ok;
}

static size_t
s_node_named (const norc_job_graph_t *g, const char *name, size_t len)
{
    for (size_t n = 0; n < g->node_count; n++)
        if (strlen (g->nodes [n].name) == len && strncmp (g->nodes [n].name, name, len) == 0)
            return n;
    return SIZE_MAX;
}

//  job add: name, timeout, description, node.NAME = TASK (in order),
//  edge.K = "PARENT:CHILD". Every node's task must be a live command task;
//  the edges must name nodes and make no cycle.
static void
s_job_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = s_arg (args, "name");
    int64_t timeout;
    if (!s_valid_name (name, reply, "job") || !s_arg_int (args, "timeout", 0, 86400 * 365, &timeout, reply))
        return;
    norc_job_graph_t g = { 0 };
    norc_task_t job = { 0 };
    size_t nodes = 0, edges = 0;
    for (size_t i = 0; i < args->count; i++) {
        nodes += strncmp (args->keys [i], "node.", 5) == 0;
        edges += strncmp (args->keys [i], "edge.", 5) == 0;
    }
    if (nodes == 0 || nodes > NORC_DAG_MAX_NODES || edges > NORC_DAG_MAX_EDGES) {
        s_reply_error (reply, NORC_ERROR, "a job needs 1 to %d nodes (--node NAME=TASK) and at most %d edges",
                       NORC_DAG_MAX_NODES, NORC_DAG_MAX_EDGES);
        return;
    }
    g.nodes = (norc_job_node_t *) norc_calloc (nodes, sizeof (norc_job_node_t));
    g.edges = (norc_dag_edge_t *) norc_calloc (edges ? edges : 1, sizeof (norc_dag_edge_t));
    for (size_t i = 0; i < args->count; i++) {
        if (strncmp (args->keys [i], "node.", 5) != 0)
            continue;
        const char *node = args->keys [i] + 5;
        if (!s_valid_node_name (node)) {
            s_reply_error (reply, NORC_ERROR, "bad node name \"%.80s\": use up to 64 letters, digits and _ - .",
                           node);
            goto done;
        }
        if (s_node_named (&g, node, strlen (node)) != SIZE_MAX) {
            s_reply_error (reply, NORC_CONFLICT, "node \"%s\" is defined twice", node);
            goto done;
        }
        norc_task_t task = { 0 };
        bool live = s_live_task (self, args->values [i], &task, reply);
        if (live && task.kind != NORC_TASK_COMMAND) {
            s_reply_error (reply, NORC_ERROR, "node \"%s\": task \"%s\" is a job; a node runs a command task",
                           node, task.name);
            live = false;
        }
        else
        if (!live)
            s_reply_error (reply, NORC_NOTFOUND, "node \"%s\": unknown task \"%s\"", node, args->values [i]);
        if (live) {
            g.nodes [g.node_count].name = norc_strdup (node);
            g.nodes [g.node_count].task_id = task.id;
            g.node_count++;
        }
        norc_task_clear (&task);
        if (!live)
            goto done;
    }
    for (size_t i = 0; i < args->count; i++) {
        if (strncmp (args->keys [i], "edge.", 5) != 0)
            continue;
        const char *edge = args->values [i];
        const char *colon = strchr (edge, ':');
        size_t p = colon ? s_node_named (&g, edge, (size_t) (colon - edge)) : SIZE_MAX;
        size_t c = colon ? s_node_named (&g, colon + 1, strlen (colon + 1)) : SIZE_MAX;
        if (!colon)
            s_reply_error (reply, NORC_ERROR, "bad edge \"%.80s\": expected PARENT:CHILD", edge);
        else
        if (p == SIZE_MAX || c == SIZE_MAX)
            s_reply_error (reply, NORC_NOTFOUND, "edge \"%.80s\": no node named \"%.*s\"", edge,
                           p == SIZE_MAX ? (int) (colon - edge) : (int) strlen (colon + 1),
                           p == SIZE_MAX ? edge : colon + 1);
        if (p == SIZE_MAX || c == SIZE_MAX)
            goto done;
        g.edges [g.edge_count].parent = p;
        g.edges [g.edge_count].child = c;
        g.edge_count++;
    }
    size_t culprit = 0;
    int rc = norc_dag_check (g.node_count, g.edges, g.edge_count, &culprit);
    if (rc == NORC_CONFLICT) {
        s_reply_error (reply, rc, "the edges make a cycle through node \"%s\"", g.nodes [culprit].name);
        goto done;
    }
    if (rc) {
        s_reply_error (reply, rc, "edge %s:%s joins a node to itself", g.nodes [g.edges [culprit].parent].name,
                       g.nodes [g.edges [culprit].child].name);
        goto done;
    }
    job.name = norc_strdup (name);
    job.timeout_s = (int) timeout;
    const char *description = s_arg (args, "description");
    job.description = description ? norc_strdup (description) : NULL;
    rc = norc_store_job_add (self->db, &job, &g);
    if (rc == NORC_CONFLICT)
        s_reply_error (reply, rc, "a task named \"%s\" already exists", name);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot add the job");
    else
        s_row_u64 (reply, "id", job.id);
done:
    norc_task_clear (&job);
    norc_job_graph_clear (&g);
}

//  job show: one row per node: node, task, after (its parents)
static void
s_job_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t job = { 0 };
    if (!s_live_task (self, s_arg (args, "name"), &job, reply))
        goto done;
    if (job.kind != NORC_TASK_JOB) {
        s_reply_error (reply, NORC_CONFLICT, "task \"%s\" is a command, not a job", job.name);
        goto done;
    }
    norc_job_graph_t g = { 0 };
    int rc = norc_store_job_get (self->db, job.id, &g);
    if (rc)
        s_reply_store (self, reply, rc, "cannot read the job");
    for (size_t n = 0; rc == NORC_OK && n < g.node_count; n++) {
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        norc_strmap_set (row, "node", g.nodes [n].name);
        norc_strmap_set (row, "task", g.nodes [n].task);
        char *after = norc_strdup ("");
        for (size_t e = 0; e < g.edge_count; e++)
            if (g.edges [e].child == n) {
                char *more = norc_asprintf ("%s%s%s", after, *after ? "," : "", g.nodes [g.edges [e].parent].name);
                free (after);
                after = more;
            }
        norc_strmap_set (row, "after", after);
        free (after);
        char text [32];
        snprintf (text, sizeof text, "%d", job.timeout_s);
        norc_strmap_set (row, "timeout", text);
    }
    norc_job_graph_clear (&g);
done:
    norc_task_clear (&job);
}

//  --------------------------------------------------------------------------
//  Schedules

//  The queue must exist and accept pushes (not a group).
static bool
s_push_queue (agg_api_t *self, const char *name, norc_queue_t *queue, norc_api_reply_t *reply)
{
    if (!name) {
        s_reply_error (reply, NORC_ERROR, "a queue is required (--queue)");
        return false;
    }
    int rc = norc_store_queue_get (self->db, name, queue);
    if (rc == NORC_NOTFOUND) {
        s_reply_error (reply, rc, "unknown queue \"%s\"", name);
        return false;
    }
    if (rc) {
        s_reply_store (self, reply, rc, "cannot read the queue");
        return false;
    }
    if (queue->kind == NORC_QUEUE_GROUP) {
        s_reply_error (reply, NORC_CONFLICT, "\"%s\" is a queue group: work is pushed to a queue, "
                       "groups only serve executors", name);
        return false;
    }
    return true;
}

static bool
s_live_task (agg_api_t *self, const char *name, norc_task_t *task, norc_api_reply_t *reply)
{
    if (!name) {
        s_reply_error (reply, NORC_ERROR, "a task is required");
        return false;
    }
    int rc = norc_store_task_get (self->db, name, task);
    if (rc == NORC_NOTFOUND || (rc == NORC_OK && task->deleted_at)) {
        s_reply_error (reply, NORC_NOTFOUND, "unknown task \"%s\"", name);
        return false;
    }
    if (rc) {
        s_reply_store (self, reply, rc, "cannot read the task");
        return false;
    }
    return true;
}

static void
s_schedule_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t task = { 0 };
    norc_queue_t queue = { 0 };
    norc_schedule_t s = { 0 };
    norc_cron_t *cron = NULL;
    if (!s_live_task (self, s_arg (args, "task"), &task, reply)
    ||  !s_push_queue (self, s_arg (args, "queue"), &queue, reply))
        goto done;
    const char *cron_text = s_arg (args, "cron");
    const char *period_text = s_arg (args, "period");
    if (!!cron_text == !!period_text) {
        s_reply_error (reply, NORC_ERROR, "give exactly one of --period SECONDS or --cron EXPR");
        goto done;
    }
    int64_t period, reps, window, deadline;
    if (!s_arg_int (args, "period", 0, INT64_C (3153600000), &period, reply)
    ||  !s_arg_int (args, "reps", 0, UINT32_MAX, &reps, reply)
    ||  !s_arg_int (args, "window", 0, 86400 * 365, &window, reply)
    ||  !s_arg_int (args, "deadline", 0, 86400 * 365, &deadline, reply))
        goto done;
    if (period_text && period < 1) {
        s_reply_error (reply, NORC_ERROR, "the period must be 1 second or more");
        goto done;
    }
    s.task_id = task.id;
    s.queue_id = queue.id;
    s.repetitions = reps;
    s.start = norc_now_us ();
    const char *start = s_arg (args, "start");
    if (start && norc_time_parse (start, &s.start)) {
        //  A relative start in seconds, as the original allowed ("-10", "+30")
        char *end;
        long long offset = strtoll (start, &end, 10);
        if (*end || (start [0] != '+' && start [0] != '-')) {
            s_reply_error (reply, NORC_ERROR, "bad start \"%s\": use ISO-8601, \"now\" or +/-SECONDS", start);
            goto done;
        }
        s.start = norc_now_us () + offset * NORC_US_PER_SEC;
    }
    else
    if (start && (start [0] == '+' || start [0] == '-'))
        s.start = norc_now_us () + strtoll (start, NULL, 10) * NORC_US_PER_SEC;
    const char *tz = norc_strmap_get (args, "tz");
    if (tz && !*tz) {
        s_reply_error (reply, NORC_ERROR, "an empty time zone: give a zone such as Europe/London, "
                       "or leave out --tz for UTC");
        goto done;
    }
    if (tz && !norc_tz_valid (tz)) {
        s_reply_error (reply, NORC_ERROR, "unknown time zone \"%s\"", tz);
        goto done;
    }
    s.tz = norc_strdup (tz ? tz : "UTC");
    const char *catchup = s_arg (args, "catchup");
    s.catchup = s_arg_flag (args, "make_up") ? NORC_CATCHUP_ALL : NORC_CATCHUP_NONE;
    if (catchup) {
        s.catchup = norc_catchup_code (catchup);
        if (s.catchup < 0) {
            s_reply_error (reply, NORC_ERROR, "bad catch-up \"%s\": use none, all, latest or within", catchup);
            goto done;
        }
    }
    s.catchup_window_s = window;
    s.deadline_s = deadline;
    const char *concurrency = s_arg (args, "concurrency");
    if (concurrency) {
        s.concurrency = strcmp (concurrency, "allow") == 0 ? 0 : strcmp (concurrency, "forbid") == 0 ? 1
                      : strcmp (concurrency, "replace") == 0 ? 2 : -1;
        if (s.concurrency < 0) {
            s_reply_error (reply, NORC_ERROR, "bad concurrency \"%s\": use allow, forbid or replace", concurrency);
            goto done;
        }
    }
    norc_timing_t timing = { NULL, s.start, period };
    if (cron_text) {
        char err [512];
        s.kind = NORC_SCHED_CRON;
        s.cron = norc_cron_normalize (cron_text, s.tz, (uint32_t) (norc_now_us () ^ (uint64_t) getpid ()),
                                      err, sizeof err);
        if (!s.cron) {
            s_reply_error (reply, NORC_ERROR, "bad cron expression \"%s\": %s", cron_text, err);
            goto done;
        }
        cron = norc_cron_new (s.cron, s.tz, err, sizeof err);
        timing.cron = cron;
    }
    else {
        s.kind = NORC_SCHED_PERIOD;
        s.period_s = period;
    }
    if (norc_timing_next (&timing, s.start - 1, &s.next_nominal) != NORC_OK)
        s.next_nominal = 0;
    int rc = norc_store_schedule_add (self->db, &s);
    if (rc) {
        s_reply_store (self, reply, rc, "cannot add the schedule");
        goto done;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) s.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "timing", s.cron ? s.cron : "period");
    norc_strmap_set (row, "next", norc_time_iso (s.next_nominal, text, sizeof text));
    s_warn_unserved (self, &queue, reply);
    s_notify_schedule (self, s.id, "add");
done:
    norc_cron_destroy (&cron);
    norc_schedule_clear (&s);
    norc_queue_clear (&queue);
    norc_task_clear (&task);
}

static void
s_schedule_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    int rc = norc_store_schedule_list (self->db, s_arg_flag (args, "all"), &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot list schedules");
}

static bool
s_schedule_id (const norc_strmap_t *args, uint64_t *id, norc_api_reply_t *reply)
{
    const char *text = s_arg (args, "id");
    if (norc_id_parse (text, id) != NORC_OK) {
        s_reply_error (reply, NORC_ERROR, text ? "\"%s\" is not a schedule id (a number from 1)"
                                               : "a schedule id is required", text);
        return false;
    }
    return true;
}

static void
s_schedule_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    norc_rows_t all = { 0 };
    int rc = norc_store_schedule_list (self->db, true, &all);
    if (rc) {
        s_reply_store (self, reply, rc, "cannot read the schedule");
        return;
    }
    char want [32];
    snprintf (want, sizeof want, "%llu", (unsigned long long) id);
    for (size_t i = 0; i < all.count; i++)
        if (strcmp (norc_strmap_get (&all.rows [i], "id"), want) == 0) {
            norc_strmap_t *row = norc_rows_add (&reply->rows);
            for (size_t k = 0; k < all.rows [i].count; k++)
                norc_strmap_set (row, all.rows [i].keys [k], all.rows [i].values [k]);
        }
    norc_rows_clear (&all);
    if (reply->rows.count == 0)
        s_reply_error (reply, NORC_NOTFOUND, "unknown schedule %s", want);
}

static void
s_schedule_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    int rc = norc_store_schedule_delete (self->db, id, "deleted by norcctl");
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "unknown schedule %llu", (unsigned long long) id);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot delete the schedule");
    else
        s_notify_schedule (self, id, "delete");
}

static void
s_schedule_pause (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply, bool paused)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    int rc = norc_store_schedule_set_paused (self->db, id, paused);
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "unknown schedule %llu", (unsigned long long) id);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot change the schedule");
    else
        s_notify_schedule (self, id, "change");
}

static void
s_schedule_pause_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_schedule_pause (self, args, reply, true);
}

static void
s_schedule_resume_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_schedule_pause (self, args, reply, false);
}

static void
s_schedule_history (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    int64_t limit;
    if (!s_schedule_id (args, &id, reply) || !s_arg_int (args, "limit", 100, 1000000, &limit, reply))
        return;
    int rc = norc_store_tick_history (self->db, id, (int) limit, &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot read the history");
}

//  --------------------------------------------------------------------------
//  Runs, reports, registration

static void
s_run (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t task = { 0 };
    norc_queue_t queue = { 0 };
    if (s_live_task (self, s_arg (args, "task"), &task, reply)
    &&  s_push_queue (self, s_arg (args, "queue"), &queue, reply)) {
        uint64_t id = 0;
        int rc = norc_store_instance_manual (self->db, task.id, queue.id, &id);
        if (rc)
            s_reply_store (self, reply, rc, "cannot create the instance");
        else {
            s_row_u64 (reply, "id", id);
            s_warn_unserved (self, &queue, reply);
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
    const char *text = s_arg (args, "since");
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
        s_reply_error (reply, NORC_ERROR, "bad --since \"%s\": use 10m 30m 1h 3h 12h 1d 7d or all",
                       s_arg (args, "since"));
        return;
    }
    int rc = norc_store_daemon_list (self->db, kind, since, norc_now_us () - self->alive_ms * 1000,
                                     &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot read daemons");
}

static void
s_status_executors (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_EXECUTOR);
}

static void
s_status_schedulers (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_status (self, args, reply, NORC_DAEMON_SCHEDULER);
}

static void
s_status_instances (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_us_t since = s_since (args, "all");
    int64_t limit;
    if (since < 0) {
        s_reply_error (reply, NORC_ERROR, "bad --since \"%s\": use 10m 30m 1h 3h 12h 1d 7d or all",
                       s_arg (args, "since"));
        return;
    }
    if (!s_arg_int (args, "limit", 0, 10000000, &limit, reply))
        return;
    int rc = norc_store_instance_list (self->db, since, s_arg_flag (args, "failed"), (int) limit, &reply->rows);
    if (rc)
        s_reply_store (self, reply, rc, "cannot read instances");
}

//  The instance named by args "id" (also "#ID"), read into inst. False,
//  with the error in reply, when there is none.
static bool
s_instance_arg (agg_api_t *self, const norc_strmap_t *args, norc_instance_t *inst, norc_api_reply_t *reply)
{
    const char *text = s_arg (args, "id");
    uint64_t id;
    if (norc_id_parse (text, &id) != NORC_OK) {
        s_reply_error (reply, NORC_ERROR, text ? "\"%s\" is not an instance id (a number from 1)"
                                               : "an instance id is required", text);
        return false;
    }
    int rc = norc_store_instance_get (self->db, id, inst);
    if (rc == NORC_NOTFOUND)
        s_reply_error (reply, rc, "unknown instance %llu", (unsigned long long) id);
    else
    if (rc)
        s_reply_store (self, reply, rc, "cannot read the instance");
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
static void
s_instance_kill (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (!s_instance_arg (self, args, &inst, reply)) {
        norc_instance_clear (&inst);
        return;
    }
    const char *by = s_arg (args, "by") ? s_arg (args, "by") : "norcctl";
    char *reason = norc_asprintf ("killed on request by %s", by);
    const char *name = norc_status_name (inst.status);
    if (NORC_STATUS_IS_FINAL (inst.status))
        s_reply_error (reply, NORC_CONFLICT, "instance %llu has already ended (%s)", (unsigned long long) inst.id,
                       name ? name : "?");
    else
    if ((inst.status == NORC_ST_CREATED || inst.task_kind == NORC_TASK_JOB) && !inst.executor_id) {
        //  Waiting, or a job (it runs on no executor: the dispatcher stops its nodes)
        int rc = norc_store_instance_cancel (self->db, inst.id, reason);
        if (rc == NORC_CONFLICT)
            s_reply_error (reply, rc, "instance %llu was just handed to an executor: try again",
                           (unsigned long long) inst.id);
        else
        if (rc)
            s_reply_store (self, reply, rc, "cannot kill the instance");
        else {
            s_row_u64 (reply, "id", inst.id);
            norc_strmap_set (&reply->rows.rows [0], "outcome", inst.status == NORC_ST_CREATED
                             ? "killed before it started" : "job killed: its running nodes are being stopped");
            s_instance_event (self, &inst, NORC_ST_KILLED, "instance.ended", reason);
        }
    }
    else
    if (self->deliver && self->deliver (self->owner, inst.executor_id, 0, NORC_REQ_KILL, by, inst.id)) {
        s_row_u64 (reply, "id", inst.id);
        norc_strmap_set (&reply->rows.rows [0], "outcome", "sent to its executor");
    }
    else
        s_reply_error (reply, NORC_AGAIN, "executor %llu, which holds instance %llu, is not connected",
                       (unsigned long long) inst.executor_id, (unsigned long long) inst.id);
    free (reason);
    norc_instance_clear (&inst);
}

static void
s_instance_handle_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (s_instance_arg (self, args, &inst, reply)) {
        const char *by = s_arg (args, "by") ? s_arg (args, "by") : "norcctl";
        int rc = norc_store_instance_handle (self->db, inst.id, by);
        const char *name = norc_status_name (inst.status);
        if (rc == NORC_CONFLICT)
            s_reply_error (reply, rc, "instance %llu is %s, not a failure: nothing to handle",
                           (unsigned long long) inst.id, name ? name : "?");
        else
        if (rc)
            s_reply_store (self, reply, rc, "cannot handle the instance");
        else {
            s_row_u64 (reply, "id", inst.id);
            char *detail = norc_asprintf ("handled by %s (was %s)", by, name ? name : "?");
            s_instance_event (self, &inst, NORC_ST_HANDLED, "instance.handled", detail);
            free (detail);
        }
    }
    norc_instance_clear (&inst);
}

//  instance rerun: a new manual instance of the same task on the same queue
static void
s_instance_rerun (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_instance_t inst = { 0 };
    if (s_instance_arg (self, args, &inst, reply)) {
        uint64_t id = 0;
        int rc = norc_store_instance_manual (self->db, inst.task_id, inst.queue_id, &id);
        if (rc)
            s_reply_store (self, reply, rc, "cannot create the instance");
        else {
            s_row_u64 (reply, "id", id);
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

static void
s_instance_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
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
    norc_instance_clear (&inst);
}

static void
s_daemon_register (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *kind = s_arg (args, "kind");
    const char *host = s_arg (args, "host");
    int64_t pid, concurrency;
    if (!s_arg_int (args, "pid", 0, INT32_MAX, &pid, reply)
    ||  !s_arg_int (args, "concurrency", 0, 100000, &concurrency, reply))
        return;
    norc_daemon_t daemon = { 0 };
    daemon.kind = kind && strcmp (kind, "scheduler") == 0 ? NORC_DAEMON_SCHEDULER : NORC_DAEMON_EXECUTOR;
    daemon.host = (char *) (host ? host : "?");
    daemon.pid = (int) pid;
    daemon.concurrency = (int) concurrency;
    const char *queue_name = s_arg (args, "queue");
    if (daemon.kind == NORC_DAEMON_EXECUTOR) {
        norc_queue_t queue = { 0 };
        int rc = queue_name ? norc_store_queue_get (self->db, queue_name, &queue) : NORC_NOTFOUND;
        if (rc == NORC_NOTFOUND) {
            s_reply_error (reply, rc, "unknown queue \"%s\"", queue_name ? queue_name : "");
            return;
        }
        if (rc) {
            s_reply_store (self, reply, rc, "cannot read the queue");
            return;
        }
        daemon.queue_id = queue.id;
        norc_queue_clear (&queue);
    }
    int rc = norc_store_daemon_register (self->db, &daemon);
    if (rc) {
        s_reply_store (self, reply, rc, "cannot register");
        return;
    }
    s_row_u64 (reply, "id", daemon.id);
}

//  --------------------------------------------------------------------------
//  Control requests

//  Why a request cannot apply to a daemon now, or NULL when it can.
static const char *
s_refusal (const norc_daemon_t *d, int request)
{
    bool scheduler = d->kind == NORC_DAEMON_SCHEDULER;
    if (NORC_STATUS_IS_FINAL (d->status))
        return "it has already ended";
    if (request == NORC_REQ_RELOAD && !scheduler)
        return "RELOAD is for schedulers only";
    if (request == NORC_REQ_RESUME && d->status != NORC_ST_PAUSED
    &&  !(d->status == NORC_ST_SUSPENDED && !scheduler))
        return "RESUME needs a PAUSED (or, for an executor, SUSPENDED) daemon";
    if (request == NORC_REQ_PAUSE && d->status == NORC_ST_PAUSED)
        return "it is already PAUSED";
    if (request == NORC_REQ_PAUSE && d->status == NORC_ST_STOPPING)
        return "it is STOPPING";
    return NULL;
}

static void
s_control_one (agg_api_t *self, uint64_t daemon_id, int request, const char *by, bool host_mode,
               norc_api_reply_t *reply)
{
    norc_daemon_t d = { 0 };
    int rc = norc_store_daemon_get (self->db, daemon_id, &d);
    if (rc) {
        if (!host_mode)
            s_reply_error (reply, rc, rc == NORC_NOTFOUND ? "unknown daemon %llu" : "cannot read daemon %llu",
                           (unsigned long long) daemon_id);
        norc_daemon_clear (&d);
        return;
    }
    const char *kind = d.kind == NORC_DAEMON_SCHEDULER ? "scheduler" : "executor";
    norc_strmap_t *row = NULL;
    char text [64];
    if (request == NORC_REQ_HANDLE) {
        rc = norc_store_daemon_handle (self->db, daemon_id, by, norc_now_us () - self->alive_ms * 1000);
        if (rc == NORC_CONFLICT && !host_mode)
            s_reply_error (reply, rc, "%s %llu is alive or not in an error state: nothing to handle", kind,
                           (unsigned long long) daemon_id);
        else
        if (rc && !host_mode)
            s_reply_store (self, reply, rc, "cannot handle");
        else
        if (rc == NORC_OK) {
            row = norc_rows_add (&reply->rows);
            norc_strmap_set (row, "outcome", "handled");
        }
    }
    else {
        const char *why = s_refusal (&d, request);
        if (why) {
            if (!host_mode)
                s_reply_error (reply, NORC_CONFLICT, "%s %llu refused %s: %s", kind,
                               (unsigned long long) daemon_id, norc_request_name (request), why);
        }
        else {
            uint64_t request_id = 0;
            rc = norc_store_control_add (self->db, daemon_id, request, by, &request_id);
            if (rc)
                s_reply_store (self, reply, rc, "cannot store the request");
            else {
                bool sent = self->deliver && self->deliver (self->owner, daemon_id, request_id, request, by, 0);
                if (sent)
                    norc_store_control_mark (self->db, request_id, NORC_CONTROL_DELIVERED, NULL);
                row = norc_rows_add (&reply->rows);
                norc_strmap_set (row, "outcome", sent ? "sent" : "stored, delivered when it reconnects");
                snprintf (text, sizeof text, "%llu", (unsigned long long) request_id);
                norc_strmap_set (row, "request_id", text);
            }
        }
    }
    if (row) {
        norc_strmap_set (row, "kind", kind);
        snprintf (text, sizeof text, "%llu", (unsigned long long) daemon_id);
        norc_strmap_set (row, "daemon_id", text);
        norc_strmap_set (row, "host", d.host ? d.host : "");
        norc_strmap_set (row, "request", norc_request_name (request));
    }
    norc_daemon_clear (&d);
}

static void
s_control (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    int request = norc_request_code (s_arg (args, "request"));
    if (request < 0) {
        s_reply_error (reply, NORC_ERROR, "bad request \"%s\": use stop, kill, pause, resume, reload or handle",
                       s_arg (args, "request") ? s_arg (args, "request") : "");
        return;
    }
    const char *by = s_arg (args, "by") ? s_arg (args, "by") : "norcctl";
    const char *host = s_arg (args, "host");
    if (host) {
        if (request == NORC_REQ_HANDLE) {
            s_reply_error (reply, NORC_ERROR, "handle takes one daemon, not a host");
            return;
        }
        norc_rows_t daemons = { 0 };
        int rc = norc_store_daemon_list (self->db, 0, norc_now_us (), 0, &daemons);
        if (rc) {
            s_reply_store (self, reply, rc, "cannot list daemons");
            return;
        }
        for (size_t i = 0; i < daemons.count; i++) {
            const char *h = norc_strmap_get (&daemons.rows [i], "host");
            const char *status = norc_strmap_get (&daemons.rows [i], "status");
            if (h && strcmp (h, host) == 0 && status && atoi (status) < 7)
                s_control_one (self, strtoull (norc_strmap_get (&daemons.rows [i], "id"), NULL, 10),
                               request, by, true, reply);
        }
        norc_rows_clear (&daemons);
        if (reply->code == NORC_OK && reply->rows.count == 0)
            s_reply_error (reply, NORC_NOTFOUND, "no running daemon on host \"%s\" accepts %s", host,
                           norc_request_name (request));
        return;
    }
    const char *id_text = s_arg (args, "daemon");
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        s_reply_error (reply, NORC_ERROR, id_text ? "\"%s\" is not a daemon id (a number from 1)"
                                                  : "a daemon id or --host is required", id_text);
        return;
    }
    s_control_one (self, id, request, by, false, reply);
}

static void
s_daemon_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *id_text = s_arg (args, "id");
    norc_daemon_t d = { 0 };
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        s_reply_error (reply, NORC_ERROR, "\"%s\" is not a daemon id (a number from 1)", id_text ? id_text : "");
        return;
    }
    int rc = norc_store_daemon_get (self->db, id, &d);
    if (rc) {
        s_reply_error (reply, rc, "unknown daemon %s", id_text ? id_text : "");
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) d.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "kind", d.kind == NORC_DAEMON_SCHEDULER ? "scheduler" : "executor");
    norc_strmap_set (row, "host", d.host ? d.host : "");
    snprintf (text, sizeof text, "%d", d.status);
    norc_strmap_set (row, "status", text);
    norc_strmap_set (row, "queue", d.queue ? d.queue : "");
    norc_daemon_clear (&d);
}

static const struct { const char *op; s_op_fn *fn; } s_ops [] = {
    { "control", s_control },               { "daemon.show", s_daemon_show },
    { "queue.add", s_queue_add },           { "queue.list", s_queue_list },
    { "queue.rm", s_queue_rm },             { "group.add", s_group_add },
    { "task.add", s_task_add },             { "task.list", s_task_list },
    { "task.show", s_task_show },           { "task.rm", s_task_rm },
    { "job.add", s_job_add },               { "job.show", s_job_show },
    { "schedule.add", s_schedule_add },     { "schedule.list", s_schedule_list },
    { "schedule.show", s_schedule_show },   { "schedule.rm", s_schedule_rm },
    { "schedule.pause", s_schedule_pause_op }, { "schedule.resume", s_schedule_resume_op },
    { "schedule.history", s_schedule_history },
    { "run", s_run },
    { "status.executors", s_status_executors }, { "status.schedulers", s_status_schedulers },
    { "status.queues", s_queue_list },      { "status.instances", s_status_instances },
    { "instance.show", s_instance_show },   { "instance.kill", s_instance_kill },
    { "instance.handle", s_instance_handle_op }, { "instance.rerun", s_instance_rerun },
    { "daemon.register", s_daemon_register },
};

void
agg_api_handle (agg_api_t *self, const norc_api_request_t *request, norc_api_reply_t *reply)
{
    reply->request_id = request->request_id;
    reply->code = NORC_OK;
    //  The database out of reach: an answer at once, from what is known
    //  without it where that is something, else the outage and its length
    int64_t down_ms = self->db ? norc_db_down_ms (self->db) : 0;
    if (down_ms && norc_mono_us () - self->probed_at >= NORC_US_PER_SEC) {
        //  At most once a second a request tries (once): the way back
        self->probed_at = norc_mono_us ();
        down_ms = 0;
    }
    if (down_ms && request->op && self->daemons
    &&  (strcmp (request->op, "status.executors") == 0 || strcmp (request->op, "status.schedulers") == 0)) {
        self->daemons (self->owner, strcmp (request->op, "status.executors") == 0 ? NORC_DAEMON_EXECUTOR
                                                                                  : NORC_DAEMON_SCHEDULER,
                       &reply->rows);
        char *text = norc_asprintf ("the database is unavailable (for %lld s): the daemons heard from lately, "
                                    "from the aggregator's memory", (long long) (down_ms + 999) / 1000);
        if (!reply->rows.count)
            norc_rows_add (&reply->rows);
        norc_strmap_set (&reply->rows.rows [0], "warning", text);
        free (text);
        return;
    }
    if (down_ms) {
        s_reply_error (reply, NORC_AGAIN, "the database is unavailable (for %lld s): %s",
                       (long long) (down_ms + 999) / 1000, norc_db_errstr (self->db));
        return;
    }
    for (size_t i = 0; i < sizeof s_ops / sizeof s_ops [0]; i++)
        if (request->op && strcmp (request->op, s_ops [i].op) == 0) {
            s_ops [i].fn (self, &request->args, reply);
            return;
        }
    s_reply_error (reply, NORC_ERROR, "unknown operation \"%s\"", request->op ? request->op : "");
}

//  agg_api_defs.c - the definitions norcctl makes: queues and groups,
//  tasks, jobs (a graph of tasks). Each operation checks its arguments,
//  makes one store call and fills the reply.
#include "agg_api_internal.h"
#include "norc_store.h"
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <ctype.h>
#include <errno.h>

//  --------------------------------------------------------------------------
//  Queues

void
agg_op_queue_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    if (!agg_valid_name (name, reply, "queue"))
        return;
    const char *kind_text = agg_arg (args, "kind");
    int kind = kind_text ? norc_enum_code (&norc_enum_queue_kind, kind_text) : NORC_QUEUE_DB;
    if (kind != NORC_QUEUE_DB && kind != NORC_QUEUE_SQS) {
        agg_reply_error (reply, NORC_ERROR, "bad queue kind \"%s\": use db or sqs", kind_text);
        return;
    }
    //  An sqs queue names the SQS queue that carries it; the bridges of
    //  every site read it from here
    const char *url = agg_arg (args, "url");
    if (kind == NORC_QUEUE_SQS && (!url || (strncmp (url, "https://", 8) && strncmp (url, "http://", 7))
                                   || strlen (url) > 1024 || strpbrk (url, " \t\r\n"))) {
        agg_reply_error (reply, NORC_ERROR, "an sqs queue needs --url, its SQS queue's URL "
                         "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)");
        return;
    }
    if (kind != NORC_QUEUE_SQS && url) {
        agg_reply_error (reply, NORC_ERROR, "--url is for sqs queues only");
        return;
    }
    uint64_t id = 0;
    int rc = norc_store_queue_add (self->db, name, kind, url, &id);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "a queue or group named \"%s\" already exists", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the queue");
    else
        agg_row_u64 (reply, "id", id);
}

void
agg_op_queue_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_queue_list (self->db, norc_now_us () - self->alive_ms * 1000, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot list queues");
}

//  What a queue promises, by the way its instances reach a host (docs/sqs.md,
//  "Guarantees"): the same words for every queue of a kind
typedef struct {
    int kind;
    const char *mode, *one_run, *no_lost, *status, *dead_host, *logs;
} s_promise_t;

static const s_promise_t s_promises [] = {
    { NORC_QUEUE_DB, "database",
      "yes: a tick is one row of the record (its key is unique), written only by the holder of its "
      "schedule's shard, and handed to one executor under the dispatch lease",
      "yes: a tick is recorded before it is dispatched, and each is an instance or a recorded skipped "
      "or missed run",
      "as it happens: executors report each start and end to the aggregator",
      "after heartbeat.failure_ms: work assigned and not started waits again, runs it had started end "
      "as ERROR with the reason",
      "streamed to the log-archiver as the run writes them" },
    { NORC_QUEUE_SQS, "connected or disconnected, by site",
      "yes: a claim in the record decides which site runs a tick (a disconnected site's claim travels the "
      "return queue, decided the same way); SQS only carries it, and a copy it delivers again is a counted "
      "duplicate",
      "yes: an instance is committed before it is sent, sent again until it is claimed, and its message "
      "deleted only once its run has started",
      "as it happens for a connected site (its executors report each start and end to the aggregator); as "
      "late as its return queue for a disconnected one (seconds)",
      "after heartbeat.failure_ms for a connected site, as any executor or bridge; for a disconnected one, "
      "after bridge.site_failure_s without its beat, then heartbeat.failure_ms",
      "streamed to the log-archiver as the run writes them; from a disconnected site, in 64 KiB chunks over "
      "its return queue" },
    { NORC_QUEUE_GROUP, "by member",
      "as each member queue's", "as each member queue's", "as each member queue's",
      "as each member queue's", "as each member queue's" },
};

void
agg_op_queue_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    if (!name) {
        agg_reply_error (reply, NORC_ERROR, "a queue name is required");
        return;
    }
    norc_queue_t queue = { 0 };
    int rc = norc_store_queue_get (self->db, name, &queue);
    if (rc == NORC_NOTFOUND) {
        agg_reply_error (reply, rc, "unknown queue \"%s\"", name);
        return;
    }
    norc_rows_t rows = { 0 };
    if (rc == NORC_OK)
        rc = norc_store_queue_list (self->db, norc_now_us () - self->alive_ms * 1000, &rows);
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot read the queue");
        norc_queue_clear (&queue);
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) queue.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "name", queue.name);
    const char *kind = norc_enum_name (&norc_enum_queue_kind, queue.kind);
    norc_strmap_set (row, "kind", kind ? kind : "");
    norc_strmap_set (row, "url", queue.url ? queue.url : "");
    for (size_t i = 0; i < rows.count; i++) {
        const char *listed = norc_strmap_get (&rows.rows [i], "name");
        if (listed && strcmp (listed, queue.name) == 0) {
            const char *waiting = norc_strmap_get (&rows.rows [i], "waiting");
            const char *executors = norc_strmap_get (&rows.rows [i], "executors");
            norc_strmap_set (row, "waiting", waiting ? waiting : "0");
            norc_strmap_set (row, "executors", executors ? executors : "0");
        }
    }
    for (size_t i = 0; i < sizeof s_promises / sizeof s_promises [0]; i++)
        if (s_promises [i].kind == queue.kind) {
            const s_promise_t *p = &s_promises [i];
            norc_strmap_set (row, "mode", p->mode);
            norc_strmap_set (row, "one_run_per_tick", p->one_run);
            norc_strmap_set (row, "no_lost_tick", p->no_lost);
            norc_strmap_set (row, "status", p->status);
            norc_strmap_set (row, "dead_host", p->dead_host);
            norc_strmap_set (row, "logs", p->logs);
        }
    norc_rows_clear (&rows);
    norc_queue_clear (&queue);
}

void
agg_op_queue_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    if (!agg_valid_name (name, reply, "queue"))
        return;
    int rc = norc_store_queue_rm (self->db, name);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown queue \"%s\"", name);
    else
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "queue \"%s\" is in use (schedules, instances, groups or executors "
                       "refer to it)", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot remove the queue");
}

void
agg_op_group_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    const char *members = agg_arg (args, "members");
    if (!agg_valid_name (name, reply, "group"))
        return;
    if (!members) {
        agg_reply_error (reply, NORC_ERROR, "a group needs members QUEUE:PRIORITY ...");
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
            agg_reply_error (reply, NORC_ERROR, "bad member \"%s\": expected QUEUE:PRIORITY", item);
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
        agg_reply_error (reply, rc, "a member queue does not exist");
    else
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "\"%s\" already exists, a member is a group, or a queue is listed twice", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the group");
    else
        agg_row_u64 (reply, "id", id);
    free (copy);
}

//  --------------------------------------------------------------------------
//  Tasks

void
agg_op_task_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    const char *command = agg_arg (args, "command");
    if (!agg_valid_name (name, reply, "task"))
        return;
    if (!command || !*command) {
        agg_reply_error (reply, NORC_ERROR, "a command task needs --command (or --command-file)");
        return;
    }
    if (strlen (command) > NORC_COMMAND_MAX) {
        agg_reply_error (reply, NORC_ERROR, "the command is %zu bytes, over the limit of %d", strlen (command),
                       NORC_COMMAND_MAX);
        return;
    }
    int64_t timeout, retries, backoff, cap, log_max;
    if (!agg_arg_int (args, "timeout", 0, 86400 * 365, &timeout, reply)
    ||  !agg_arg_size (args, "log_max", INT64_C (1) << 40, &log_max, reply)
    ||  !agg_arg_int (args, "retries", 0, 100, &retries, reply)
    ||  !agg_arg_int (args, "retry_backoff", 1, 86400, &backoff, reply)
    ||  !agg_arg_int (args, "retry_cap", 1, 86400 * 7, &cap, reply))
        return;
    if (!agg_arg (args, "retry_backoff"))
        backoff = 10;
    if (!agg_arg (args, "retry_cap"))
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
    const char *cwd = agg_arg (args, "cwd");
    task.cwd = cwd ? norc_strdup (cwd) : NULL;
    const char *description = agg_arg (args, "description");
    task.description = description ? norc_strdup (description) : NULL;
    for (size_t i = 0; i < args->count; i++)
        if (strncmp (args->keys [i], "env.", 4) == 0 && args->keys [i][4])
            norc_strmap_set (&task.env, args->keys [i] + 4, args->values [i]);
        else
        if (strncmp (args->keys [i], "secret.", 7) == 0 && args->keys [i][7]) {
            norc_strmap_set (&task.env, args->keys [i] + 7, args->values [i]);
            norc_strmap_set (&task.secret, args->keys [i] + 7, "1");
        }
    int rc = norc_store_task_add (self->db, &task);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "a task named \"%s\" already exists", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the task");
    else
        agg_row_u64 (reply, "id", task.id);
    norc_task_clear (&task);
}

void
agg_op_task_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_task_list (self->db, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot list tasks");
}

void
agg_op_task_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    if (!name) {
        agg_reply_error (reply, NORC_ERROR, "a task name is required");
        return;
    }
    norc_task_t task = { 0 };
    int rc = norc_store_task_get (self->db, name, &task);
    if (rc == NORC_NOTFOUND || (rc == NORC_OK && task.deleted_at)) {
        agg_reply_error (reply, NORC_NOTFOUND, "unknown task \"%s\"", name);
        norc_task_clear (&task);
        return;
    }
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot read the task");
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) task.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "name", task.name);
    norc_strmap_set (row, "kind", norc_enum_name (&norc_enum_task_kind, task.kind));
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
        bool secret = norc_strmap_get (&task.secret, task.env.keys [i]) != NULL;
        norc_strmap_set (row, key, secret ? "(secret)" : task.env.values [i]);
    }
    norc_task_clear (&task);
}

void
agg_op_task_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    if (!agg_valid_name (name, reply, "task"))
        return;
    int rc = norc_store_task_rm (self->db, name);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown task \"%s\"", name);
    else
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "task \"%s\" has live schedules; remove them first", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot remove the task");
}

//  --------------------------------------------------------------------------
//  Jobs

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
void
agg_op_job_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    int64_t timeout;
    if (!agg_valid_name (name, reply, "job") || !agg_arg_int (args, "timeout", 0, 86400 * 365, &timeout, reply))
        return;
    norc_job_graph_t g = { 0 };
    norc_task_t job = { 0 };
    size_t nodes = 0, edges = 0;
    for (size_t i = 0; i < args->count; i++) {
        nodes += strncmp (args->keys [i], "node.", 5) == 0;
        edges += strncmp (args->keys [i], "edge.", 5) == 0;
    }
    if (nodes == 0 || nodes > NORC_DAG_MAX_NODES || edges > NORC_DAG_MAX_EDGES) {
        agg_reply_error (reply, NORC_ERROR, "a job needs 1 to %d nodes (--node NAME=TASK) and at most %d edges",
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
            agg_reply_error (reply, NORC_ERROR, "bad node name \"%.80s\": use up to 64 letters, digits and _ - .",
                           node);
            goto done;
        }
        if (s_node_named (&g, node, strlen (node)) != SIZE_MAX) {
            agg_reply_error (reply, NORC_CONFLICT, "node \"%s\" is defined twice", node);
            goto done;
        }
        norc_task_t task = { 0 };
        bool live = agg_live_task (self, args->values [i], &task, reply);
        if (live && task.kind != NORC_TASK_COMMAND) {
            agg_reply_error (reply, NORC_ERROR, "node \"%s\": task \"%s\" is a job; a node runs a command task",
                           node, task.name);
            live = false;
        }
        else
        if (!live)
            agg_reply_error (reply, NORC_NOTFOUND, "node \"%s\": unknown task \"%s\"", node, args->values [i]);
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
            agg_reply_error (reply, NORC_ERROR, "bad edge \"%.80s\": expected PARENT:CHILD", edge);
        else
        if (p == SIZE_MAX || c == SIZE_MAX)
            agg_reply_error (reply, NORC_NOTFOUND, "edge \"%.80s\": no node named \"%.*s\"", edge,
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
        agg_reply_error (reply, rc, "the edges make a cycle through node \"%s\"", g.nodes [culprit].name);
        goto done;
    }
    if (rc) {
        agg_reply_error (reply, rc, "edge %s:%s joins a node to itself", g.nodes [g.edges [culprit].parent].name,
                       g.nodes [g.edges [culprit].child].name);
        goto done;
    }
    job.name = norc_strdup (name);
    job.timeout_s = (int) timeout;
    const char *description = agg_arg (args, "description");
    job.description = description ? norc_strdup (description) : NULL;
    rc = norc_store_job_add (self->db, &job, &g);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "a task named \"%s\" already exists", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the job");
    else
        agg_row_u64 (reply, "id", job.id);
done:
    norc_task_clear (&job);
    norc_job_graph_clear (&g);
}

//  job show: one row per node: node, task, after (its parents)
void
agg_op_job_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t job = { 0 };
    if (!agg_live_task (self, agg_arg (args, "name"), &job, reply))
        goto done;
    if (job.kind != NORC_TASK_JOB) {
        agg_reply_error (reply, NORC_CONFLICT, "task \"%s\" is a command, not a job", job.name);
        goto done;
    }
    norc_job_graph_t g = { 0 };
    int rc = norc_store_job_get (self->db, job.id, &g);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the job");
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

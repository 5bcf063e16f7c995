//  store_jobs.c - jobs: graphs of tasks, and the steps of a job run.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"
#include "norc_jobstep.h"

//  Jobs

void
norc_job_graph_clear (norc_job_graph_t *self)
{
    for (size_t i = 0; i < self->node_count; i++) {
        free (self->nodes [i].name);
        free (self->nodes [i].task);
    }
    free (self->nodes);
    free (self->edges);
    memset (self, 0, sizeof (*self));
}

void
norc_job_step_clear (norc_job_step_t *self)
{
    for (size_t i = 0; i < self->created_count; i++)
        norc_instance_clear (&self->created [i]);
    for (size_t i = 0; i < self->closed_count; i++)
        norc_instance_clear (&self->closed [i]);
    free (self->created);
    free (self->closed);
    free (self->stop);
    free (self->active);
    free (self->reason);
    memset (self, 0, sizeof (*self));
}

typedef struct {
    norc_task_t *job;
    const norc_job_graph_t *in;
    norc_job_graph_t *graph;
    uint64_t id;
    norc_us_t now;
    norc_job_step_t *step;
    uint64_t **ids;
    size_t *count;
} s_job_args_t;

static const char *s_sql_job_node_add =
    "INSERT INTO job_nodes (job_id, task_id, name) VALUES (?, ?, ?)";
static const char *s_sql_job_edge_add =
    "INSERT IGNORE INTO job_edges (job_id, parent_id, child_id) VALUES (?, ?, ?)";

static int
s_job_add (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    a->job->kind = NORC_TASK_JOB;
    int rc = store_task_insert (db, a->job);
    uint64_t *ids = (uint64_t *) norc_calloc (a->in->node_count + 1, sizeof (uint64_t));
    for (size_t n = 0; rc == NORC_OK && n < a->in->node_count; n++) {
        norc_stmt_t *st = norc_db_stmt (db, s_sql_job_node_add);
        norc_stmt_bind_u64 (st, 0, a->job->id);
        norc_stmt_bind_u64 (st, 1, a->in->nodes [n].task_id);
        norc_stmt_bind_str (st, 2, a->in->nodes [n].name);
        rc = norc_stmt_exec (st);
        ids [n] = norc_stmt_insert_id (st);
    }
    for (size_t e = 0; rc == NORC_OK && e < a->in->edge_count; e++) {
        norc_stmt_t *st = norc_db_stmt (db, s_sql_job_edge_add);
        norc_stmt_bind_u64 (st, 0, a->job->id);
        norc_stmt_bind_u64 (st, 1, ids [a->in->edges [e].parent]);
        norc_stmt_bind_u64 (st, 2, ids [a->in->edges [e].child]);
        rc = norc_stmt_exec (st);
    }
    free (ids);
    return rc;
}

int
norc_store_job_add (norc_db_t *db, norc_task_t *job, const norc_job_graph_t *graph)
{
    s_job_args_t a = { .job = job, .in = graph };
    return norc_db_txn (db, s_job_add, &a);
}

static const char *s_sql_job_nodes =
    "SELECT n.id, n.name, n.task_id, t.name FROM job_nodes n JOIN tasks t ON t.id = n.task_id "
    "WHERE n.job_id = ? ORDER BY n.id";
static const char *s_sql_job_edges =
    "SELECT parent_id, child_id FROM job_edges WHERE job_id = ? ORDER BY parent_id, child_id";

static size_t
s_node_index (const norc_job_graph_t *g, uint64_t node_id)
{
    size_t lo = 0, hi = g->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->nodes [mid].id == node_id)
            return mid;
        if (g->nodes [mid].id < node_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

static int
s_job_graph (norc_db_t *db, uint64_t job_id, norc_job_graph_t *g)
{
    norc_job_graph_clear (g);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_nodes);
    norc_stmt_bind_u64 (st, 0, job_id);
    int rc = norc_stmt_exec (st);
    size_t room = 0;
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
        if (g->node_count == room) {
            room = room ? room * 2 : 16;
            g->nodes = (norc_job_node_t *) norc_realloc (g->nodes, room * sizeof (norc_job_node_t));
        }
        norc_job_node_t *n = &g->nodes [g->node_count++];
        n->id = norc_stmt_u64 (st, 0);
        n->name = s_dup (norc_stmt_str (st, 1));
        n->task_id = norc_stmt_u64 (st, 2);
        n->task = s_dup (norc_stmt_str (st, 3));
    }
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_job_edges);
    norc_stmt_bind_u64 (st, 0, job_id);
    rc = norc_stmt_exec (st);
    room = 0;
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK) {
        size_t p = s_node_index (g, norc_stmt_u64 (st, 0));
        size_t c = s_node_index (g, norc_stmt_u64 (st, 1));
        if (p == SIZE_MAX || c == SIZE_MAX)
            continue;
        if (g->edge_count == room) {
            room = room ? room * 2 : 16;
            g->edges = (norc_dag_edge_t *) norc_realloc (g->edges, room * sizeof (norc_dag_edge_t));
        }
        g->edges [g->edge_count].parent = p;
        g->edges [g->edge_count].child = c;
        g->edge_count++;
    }
    return rc;
}

static int
s_job_get (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    return s_job_graph (db, a->id, a->graph);
}

int
norc_store_job_get (norc_db_t *db, uint64_t job_id, norc_job_graph_t *graph)
{
    s_job_args_t a = { .id = job_id, .graph = graph };
    return norc_db_txn (db, s_job_get, &a);
}

static const char *s_sql_job_lock =
    "SELECT i.status, i.task_id, i.queue_id, i.started_at, t.timeout_s, t.kind, q.name "
    "FROM instances i JOIN tasks t ON t.id = i.task_id JOIN queues q ON q.id = i.queue_id "
    "WHERE i.id = ? FOR UPDATE";
static const char *s_sql_job_start =
    "UPDATE instances SET status = 2, started_at = ? WHERE id = ? AND status = 1";
static const char *s_sql_job_node_instances =
    "SELECT id, job_node_id, status, executor_id FROM instances WHERE job_instance_id = ? "
    "ORDER BY job_node_id, attempt";
static const char *s_sql_job_node_create =
    "INSERT IGNORE INTO instances (task_id, queue_id, attempt, trigger_kind, job_instance_id, job_node_id, "
    "  status, enqueued_at, ended_at, reason, reason_code) VALUES (?, ?, 1, 3, ?, ?, ?, UTC_TIMESTAMP(6), ?, ?, 9)";
static const char *s_sql_job_end =
    "UPDATE instances SET status = ?, ended_at = UTC_TIMESTAMP(6), reason = ?, reason_code = 9 "
    "WHERE id = ? AND status < 7";

//  The latest attempt of each node in a run
typedef struct {
    uint64_t id;
    int status;
    uint64_t executor_id;
} s_node_run_t;

static void
s_step_push (norc_instance_t **list, size_t *count, uint64_t id, uint64_t task_id, const char *task,
             const char *queue, uint64_t job_id, uint64_t node_id, int status, const char *reason)
{
    *list = (norc_instance_t *) norc_realloc (*list, (*count + 1) * sizeof (norc_instance_t));
    norc_instance_t *i = &(*list) [(*count)++];
    memset (i, 0, sizeof (*i));
    i->id = id;
    i->task_id = task_id;
    i->task = s_dup (task);
    i->queue = s_dup (queue);
    i->attempt = 1;
    i->trigger = NORC_TRIGGER_JOB;
    i->job_instance_id = job_id;
    i->job_node_id = node_id;
    i->status = status;
    i->reason = s_dup (reason);
    i->task_kind = NORC_TASK_COMMAND;
}

static void
s_ids_push (uint64_t **list, size_t *count, uint64_t id)
{
    *list = (uint64_t *) norc_realloc (*list, (*count + 1) * sizeof (uint64_t));
    (*list) [(*count)++] = id;
}

//  Insert one node instance (waiting, or final with a reason). Its id, or
//  0 when it already existed.
static int
s_job_node_create (norc_db_t *db, uint64_t job_id, uint64_t queue_id, const norc_job_node_t *node, int status,
                   const char *reason, uint64_t *id)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_node_create);
    norc_stmt_bind_u64 (st, 0, node->task_id);
    norc_stmt_bind_u64 (st, 1, queue_id);
    norc_stmt_bind_u64 (st, 2, job_id);
    norc_stmt_bind_u64 (st, 3, node->id);
    norc_stmt_bind_i64 (st, 4, status);
    norc_stmt_bind_time (st, 5, NORC_STATUS_IS_FINAL (status) ? norc_now_us () : 0);
    norc_stmt_bind_str (st, 6, reason);
    int rc = norc_stmt_exec (st);
    *id = rc == NORC_OK && norc_stmt_affected (st) == 1 ? norc_stmt_insert_id (st) : 0;
    return rc;
}

static int
s_job_advance (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    norc_job_step_t *step = a->step;
    norc_job_step_clear (step);
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_lock);
    norc_stmt_bind_u64 (st, 0, a->id);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    step->status = (int) norc_stmt_i64 (st, 0);
    uint64_t task_id = norc_stmt_u64 (st, 1);
    uint64_t queue_id = norc_stmt_u64 (st, 2);
    step->started_at = norc_stmt_time (st, 3);
    step->timeout_s = (int) norc_stmt_i64 (st, 4);
    int kind = (int) norc_stmt_i64 (st, 5);
    char *queue = s_dup (norc_stmt_str (st, 6));
    norc_job_graph_t g = { 0 };
    s_node_run_t *runs = NULL;
    norc_node_state_t *state = NULL;
    if (kind != NORC_TASK_JOB) {
        rc = NORC_CONFLICT;
        goto done;
    }
    if (step->status == NORC_ST_CREATED) {
        st = norc_db_stmt (db, s_sql_job_start);
        norc_stmt_bind_time (st, 0, a->now);
        norc_stmt_bind_u64 (st, 1, a->id);
        if ((rc = norc_stmt_exec (st)))
            goto done;
        step->status = NORC_ST_RUNNING;
        step->started = true;
        step->started_at = a->now;
    }
    if ((rc = s_job_graph (db, task_id, &g)))
        goto done;
    size_t n = g.node_count;
    runs = (s_node_run_t *) norc_calloc (n + 1, sizeof (s_node_run_t));
    state = (norc_node_state_t *) norc_calloc (n + 1, sizeof (norc_node_state_t));
    st = norc_db_stmt (db, s_sql_job_node_instances);
    norc_stmt_bind_u64 (st, 0, a->id);
    if ((rc = norc_stmt_exec (st)))
        goto done;
    while (norc_stmt_fetch (st) == NORC_OK) {
        size_t k = s_node_index (&g, norc_stmt_u64 (st, 1));
        if (k == SIZE_MAX)
            continue;
        //  Ordered by attempt: the last row of a node is its latest attempt
        runs [k].id = norc_stmt_u64 (st, 0);
        runs [k].status = (int) norc_stmt_i64 (st, 2);
        runs [k].executor_id = norc_stmt_u64 (st, 3);
    }
    const char **names = (const char **) norc_calloc (n + 1, sizeof (char *));
    bool *waiting = (bool *) norc_calloc (n + 1, sizeof (bool));
    for (size_t k = 0; k < n; k++) {
        state [k] = !runs [k].id ? NORC_NODE_MISSING
                  : !NORC_STATUS_IS_FINAL (runs [k].status) ? NORC_NODE_ACTIVE
                  : runs [k].status == NORC_ST_SUCCESS ? NORC_NODE_SUCCEEDED
                  : runs [k].status == NORC_ST_SKIPPED ? NORC_NODE_SKIPPED : NORC_NODE_FAILED;
        names [k] = g.nodes [k].name;
        waiting [k] = state [k] == NORC_NODE_ACTIVE && runs [k].status == NORC_ST_CREATED && !runs [k].executor_id;
    }
    //  The decision is norc_jobstep's; here it is applied
    norc_jobstep_in_t in = { step->status, step->started_at, a->now, step->timeout_s, n, names, g.edges,
                             g.edge_count, state, waiting };
    norc_jobstep_t plan;
    norc_jobstep_decide (&in, &plan);
    if (plan.end) {
        st = norc_db_stmt (db, s_sql_job_end);
        norc_stmt_bind_i64 (st, 0, plan.end);
        norc_stmt_bind_str (st, 1, plan.reason);
        norc_stmt_bind_u64 (st, 2, a->id);
        rc = norc_stmt_exec (st);
        step->status = plan.end;
        step->ended = true;
        step->reason = plan.reason;
        plan.reason = NULL;
    }
    for (size_t k = 0; k < n && rc == NORC_OK; k++) {
        uint64_t id = 0;
        const norc_job_node_t *node = &g.nodes [k];
        switch (plan.what [k]) {
            case NORC_JOBSTEP_START:
                rc = s_job_node_create (db, a->id, queue_id, node, NORC_ST_CREATED, NULL, &id);
                if (id) {
                    s_step_push (&step->created, &step->created_count, id, node->task_id, node->task, queue, a->id,
                                 node->id, NORC_ST_CREATED, NULL);
                    s_ids_push (&step->active, &step->active_count, id);
                }
                break;
            case NORC_JOBSTEP_SKIP:
                rc = s_job_node_create (db, a->id, queue_id, node, NORC_ST_SKIPPED, plan.why [k], &id);
                if (id)
                    s_step_push (&step->closed, &step->closed_count, id, node->task_id, node->task, queue, a->id,
                                 node->id, NORC_ST_SKIPPED, plan.why [k]);
                break;
            case NORC_JOBSTEP_CANCEL:
                rc = store_instance_cancel (db, runs [k].id, plan.why [k]);
                if (rc == NORC_OK)
                    s_step_push (&step->closed, &step->closed_count, runs [k].id, node->task_id, node->task, queue,
                                 a->id, node->id, NORC_ST_KILLED, plan.why [k]);
                else
                if (rc == NORC_CONFLICT)
                    rc = NORC_OK;       //  taken by an executor meanwhile: stopped next time
                break;
            case NORC_JOBSTEP_STOP:
                s_ids_push (&step->stop, &step->stop_count, runs [k].id);
                break;
            case NORC_JOBSTEP_NONE:
                if (state [k] == NORC_NODE_ACTIVE && !NORC_STATUS_IS_FINAL (step->status))
                    s_ids_push (&step->active, &step->active_count, runs [k].id);
                break;
        }
    }
    norc_jobstep_clear (&plan, n);
    free (waiting);
    free (names);
done:
    free (state);
    free (runs);
    norc_job_graph_clear (&g);
    free (queue);
    return rc;
}

int
norc_store_job_advance (norc_db_t *db, uint64_t id, norc_us_t now, norc_job_step_t *step)
{
    s_job_args_t a = { .id = id, .now = now ? now : norc_now_us (), .step = step };
    int rc = norc_db_txn (db, s_job_advance, &a);
    if (rc)
        norc_job_step_clear (step);
    return rc;
}

static const char *s_sql_job_running =
    "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
    "WHERE i.status = 2 AND i.executor_id IS NULL AND t.kind = 2 ORDER BY i.id";

static int
s_job_running (norc_db_t *db, void *arg)
{
    s_job_args_t *a = (s_job_args_t *) arg;
    free (*a->ids);
    *a->ids = NULL;
    *a->count = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_job_running);
    int rc = norc_stmt_exec (st);
    while (rc == NORC_OK && norc_stmt_fetch (st) == NORC_OK)
        s_ids_push (a->ids, a->count, norc_stmt_u64 (st, 0));
    return rc;
}

int
norc_store_job_running (norc_db_t *db, uint64_t **ids, size_t *count)
{
    *ids = NULL;
    *count = 0;
    s_job_args_t a = { .ids = ids, .count = count };
    return norc_db_txn (db, s_job_running, &a);
}

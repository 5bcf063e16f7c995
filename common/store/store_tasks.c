//  store_tasks.c - tasks: what runs.
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

void
norc_task_clear (norc_task_t *self)
{
    free (self->name);
    free (self->description);
    free (self->command);
    free (self->cwd);
    norc_strmap_clear (&self->env);
    norc_strmap_clear (&self->secret);
    memset (self, 0, sizeof (*self));
}

//  Tasks

typedef struct {
    norc_task_t *task;
    const char *name;
    norc_rows_t *rows;
} s_task_args_t;

static const char *s_sql_task_add =
    "INSERT INTO tasks (name, kind, description, command, timeout_s, cwd, nice, "
    "  retry_max, retry_backoff_s, retry_cap_s, log_max_bytes, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))";
static const char *s_sql_task_env =
    "INSERT INTO task_env (task_id, name, value, secret) VALUES (?, ?, ?, ?)";

static int
s_task_add (norc_db_t *db, void *arg)
{
    norc_task_t *t = ((s_task_args_t *) arg)->task;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_add);
    norc_stmt_bind_str (st, 0, t->name);
    norc_stmt_bind_i64 (st, 1, t->kind ? t->kind : NORC_TASK_COMMAND);
    norc_stmt_bind_str (st, 2, t->description ? t->description : "");
    norc_stmt_bind_str (st, 3, t->command);
    norc_stmt_bind_i64 (st, 4, t->timeout_s);
    norc_stmt_bind_str (st, 5, t->cwd);
    norc_stmt_bind_i64 (st, 6, t->nice);
    norc_stmt_bind_i64 (st, 7, t->retry_max);
    norc_stmt_bind_i64 (st, 8, t->retry_backoff_s ? t->retry_backoff_s : 10);
    norc_stmt_bind_i64 (st, 9, t->retry_cap_s ? t->retry_cap_s : 3600);
    norc_stmt_bind_i64 (st, 10, t->log_max_bytes);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    t->id = norc_stmt_insert_id (st);
    for (size_t i = 0; i < t->env.count; i++) {
        st = norc_db_stmt (db, s_sql_task_env);
        norc_stmt_bind_u64 (st, 0, t->id);
        norc_stmt_bind_str (st, 1, t->env.keys [i]);
        norc_stmt_bind_str (st, 2, t->env.values [i]);
        norc_stmt_bind_i64 (st, 3, norc_strmap_get (&t->secret, t->env.keys [i]) != NULL);
        if ((rc = norc_stmt_exec (st)))
            return rc;
    }
    return NORC_OK;
}

int
store_task_insert (norc_db_t *db, norc_task_t *task)
{
    s_task_args_t a = { .task = task };
    return s_task_add (db, &a);
}

int
norc_store_task_add (norc_db_t *db, norc_task_t *task)
{
    s_task_args_t a = { .task = task };
    return norc_db_txn (db, s_task_add, &a);
}

static const char *s_sql_task_by_name =
    "SELECT id, name, kind, description, command, timeout_s, cwd, nice, retry_max, "
    "  retry_backoff_s, retry_cap_s, deleted_at, log_max_bytes FROM tasks WHERE name = ?";
static const char *s_sql_task_by_id =
    "SELECT id, name, kind, description, command, timeout_s, cwd, nice, retry_max, "
    "  retry_backoff_s, retry_cap_s, deleted_at, log_max_bytes FROM tasks WHERE id = ?";
static const char *s_sql_task_env_get =
    "SELECT name, value, secret FROM task_env WHERE task_id = ? ORDER BY name";

static int
s_task_get (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st;
    if (a->name [0] == '#') {
        uint64_t id;
        if (norc_id_parse (a->name, &id) != NORC_OK)
            return NORC_NOTFOUND;
        st = norc_db_stmt (db, s_sql_task_by_id);
        norc_stmt_bind_u64 (st, 0, id);
    }
    else {
        st = norc_db_stmt (db, s_sql_task_by_name);
        norc_stmt_bind_str (st, 0, a->name);
    }
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    norc_task_t *t = a->task;
    norc_task_clear (t);
    t->id = norc_stmt_u64 (st, 0);
    t->name = s_dup (norc_stmt_str (st, 1));
    t->kind = (int) norc_stmt_i64 (st, 2);
    t->description = s_dup (norc_stmt_str (st, 3));
    t->command = s_dup (norc_stmt_str (st, 4));
    t->timeout_s = (int) norc_stmt_i64 (st, 5);
    t->cwd = s_dup (norc_stmt_str (st, 6));
    t->nice = (int) norc_stmt_i64 (st, 7);
    t->retry_max = (int) norc_stmt_i64 (st, 8);
    t->retry_backoff_s = (int) norc_stmt_i64 (st, 9);
    t->retry_cap_s = (int) norc_stmt_i64 (st, 10);
    t->deleted_at = norc_stmt_time (st, 11);
    t->log_max_bytes = norc_stmt_i64 (st, 12);
    st = norc_db_stmt (db, s_sql_task_env_get);
    norc_stmt_bind_u64 (st, 0, t->id);
    if ((rc = norc_stmt_exec (st)))
        return rc;
    while (norc_stmt_fetch (st) == NORC_OK) {
        norc_strmap_set (&t->env, norc_stmt_str (st, 0), norc_stmt_str (st, 1));
        if (norc_stmt_i64 (st, 2))
            norc_strmap_set (&t->secret, norc_stmt_str (st, 0), "1");
    }
    return NORC_OK;
}

int
norc_store_task_get (norc_db_t *db, const char *name, norc_task_t *task)
{
    s_task_args_t a = { .task = task, .name = name };
    return norc_db_txn (db, s_task_get, &a);
}

static const char *s_sql_task_list =
    "SELECT t.id, t.name, CASE t.kind WHEN 1 THEN 'command' ELSE 'job' END AS kind, "
    "  t.description, COALESCE(t.command, '') AS command, t.timeout_s, "
    "  t.retry_max, t.created_at AS added, "
    "  li.id AS last_instance, li.status AS last_status "
    //  (one dive down the task's index: never a count of its instances)
    "FROM tasks t LEFT JOIN instances li ON li.id = (SELECT i.id FROM instances i WHERE i.task_id = t.id "
    "  ORDER BY i.task_id DESC, i.id DESC LIMIT 1) "
    "WHERE t.deleted_at IS NULL ORDER BY t.name";

static int
s_task_list (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_list);
    int rc = norc_stmt_exec (st);
    return rc ? rc : s_rows (st, a->rows);
}

int
norc_store_task_list (norc_db_t *db, norc_rows_t *rows)
{
    s_task_args_t a = { .rows = rows };
    return norc_db_txn (db, s_task_list, &a);
}

static const char *s_sql_task_lock =
    "SELECT t.id, (SELECT COUNT(*) FROM schedules s WHERE s.task_id = t.id AND s.deleted_at IS NULL) "
    "FROM tasks t WHERE t.name = ? AND t.deleted_at IS NULL FOR UPDATE";
static const char *s_sql_task_rm =
    "UPDATE tasks SET deleted_at = UTC_TIMESTAMP(6), name = CONCAT(LEFT(name, 100), '~deleted~', id) "
    "WHERE id = ?";

static int
s_task_rm (norc_db_t *db, void *arg)
{
    s_task_args_t *a = (s_task_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_task_lock);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = s_exec_one (st);
    if (rc)
        return rc;
    uint64_t id = norc_stmt_u64 (st, 0);
    if (norc_stmt_i64 (st, 1) > 0)
        return NORC_CONFLICT;
    st = norc_db_stmt (db, s_sql_task_rm);
    norc_stmt_bind_u64 (st, 0, id);
    return norc_stmt_exec (st);
}

int
norc_store_task_rm (norc_db_t *db, const char *name)
{
    s_task_args_t a = { .name = name };
    return norc_db_txn (db, s_task_rm, &a);
}

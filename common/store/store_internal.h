//  store_internal.h - what the store's modules share, and nothing else
//  includes: the record's SQL idioms.
//
//  The store is the durable record. One function per business operation,
//  each a transaction run by norc_db_txn (so a deadlock or a lost
//  connection is retried there and nowhere else). The SQL of each sits
//  right above the body that uses it. Every body is safe to run twice:
//  inserts are guarded by unique keys, status changes by "WHERE status <
//  7", counters are recomputed rather than incremented where a retry could
//  double them. All of Norc's SQL lives in this folder.
#ifndef STORE_INTERNAL_H_INCLUDED
#define STORE_INTERNAL_H_INCLUDED
#include "norc_store.h"
#include "norc_mem.h"
#include "norc_log.h"

#define S_FINAL 7
static inline char *
s_dup (const char *s)
{
    return s ? norc_strdup (s) : NULL;
}

//  Fetch every row of an executed statement into rows (column name -> text).
static inline int
s_rows_append (norc_stmt_t *st, norc_rows_t *rows)
{
    int rc;
    while ((rc = norc_stmt_fetch (st)) == NORC_OK) {
        norc_strmap_t *row = norc_rows_add (rows);
        for (int c = 0; c < norc_stmt_columns (st); c++)
            norc_strmap_set (row, norc_stmt_column_name (st, c), norc_stmt_text (st, c));
    }
    return rc == NORC_NOTFOUND ? NORC_OK : rc;
}

static inline int
s_rows (norc_stmt_t *st, norc_rows_t *rows)
{
    norc_rows_clear (rows);
    return s_rows_append (st, rows);
}

//  Execute and fetch the single row expected: NORC_NOTFOUND if none.
static inline int
s_exec_one (norc_stmt_t *st)
{
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    return norc_stmt_fetch (st);
}

//  Multi-row statements: the scheduler's round and the aggregator's batch
//  cost a few round trips, not one per row. Chunks have power-of-two sizes
//  (at most S_CHUNK rows), so each statement has few distinct texts and
//  stays in the prepared-statement cache.
#define S_CHUNK 256

//  The largest power of two <= min (left, S_CHUNK)
static inline size_t
s_chunk (size_t left)
{
    size_t n = S_CHUNK;
    while (n > left)
        n /= 2;
    return n;
}

//  prefix, then `row` n times joined by `sep`, then suffix (caller frees)
static inline char *
s_sql_rows (const char *prefix, const char *row, const char *sep, size_t n, const char *suffix)
{
    size_t len = strlen (prefix) + n * (strlen (row) + strlen (sep)) + strlen (suffix) + 1;
    char *sql = (char *) norc_malloc (len);
    char *p = sql;
    p += sprintf (p, "%s", prefix);
    for (size_t i = 0; i < n; i++)
        p += sprintf (p, "%s%s", i ? sep : "", row);
    sprintf (p, "%s", suffix);
    return sql;
}

//  Statements more than one concept runs inside its own transaction
extern const char *store_sql_schedule_release;     //  a scheduler's schedule leases, all given up
extern const char *store_sql_lease_drop;           //  every named lease a holder has, given up
extern const char *store_sql_daemon_exists;        //  a daemon's status by id

//  Inside the caller's transaction: a task (and its environment) written,
//  task->id filled; a waiting instance (CREATED, on no executor) ended
//  KILLED with reason (NORC_CONFLICT when it is not waiting).
int store_task_insert (norc_db_t *db, norc_task_t *task);
int store_instance_cancel (norc_db_t *db, uint64_t id, const char *reason);

//  The next attempt of instance id when its task's retry policy says so
//  (inside the caller's transaction): *retry_id, or 0 when none.
int store_instance_retry (norc_db_t *db, uint64_t id, uint64_t *retry_id);

#endif

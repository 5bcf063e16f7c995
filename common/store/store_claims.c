//  store_claims.c - claims of the ticks SQS carries (see norc_store_claims.h).
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

typedef struct {
    const norc_claim_t *claim;
    int *outcome;
    uint64_t *holder;
    char *why;
    size_t whysize;
} s_claim_args_t;

static const char *s_sql_claim_read =
    "SELECT i.status, COALESCE(i.executor_id, 0), i.attempt, q.kind, COALESCE(d.kind, 0), i.started_at IS NOT NULL "
    "FROM instances i JOIN queues q ON q.id = i.queue_id LEFT JOIN daemons d ON d.id = i.executor_id "
    "WHERE i.id = ? FOR UPDATE";
static const char *s_sql_claim_take =
    "UPDATE instances SET executor_id = ?, dispatch_epoch = NULL, assigned_at = UTC_TIMESTAMP(6), reason = NULL "
    "WHERE id = ? AND status = 1";
static const char *s_sql_claim_refuse =
    "UPDATE instances SET status = 14, ended_at = UTC_TIMESTAMP(6), executor_id = NULL, "
    "  dispatch_epoch = NULL, assigned_at = NULL, reason_code = 8, "
    "  reason = 'its task is no longer the definition that was sent (the digest differs): not run' "
    "WHERE id = ? AND status = 1";

static int
s_claim (norc_db_t *db, void *arg)
{
    s_claim_args_t *a = (s_claim_args_t *) arg;
    const norc_claim_t *c = a->claim;
    *a->outcome = NORC_CLAIM_CANCELLED;
    *a->holder = 0;
    a->why [0] = 0;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_claim_read);
    norc_stmt_bind_u64 (st, 0, c->instance_id);
    int rc = s_exec_one (st);
    if (rc == NORC_NOTFOUND) {
        snprintf (a->why, a->whysize, "no instance %llu", (unsigned long long) c->instance_id);
        return NORC_OK;
    }
    if (rc)
        return rc;
    int status = (int) norc_stmt_i64 (st, 0);
    uint64_t holder = norc_stmt_u64 (st, 1);
    int attempt = (int) norc_stmt_i64 (st, 2);
    int queue_kind = (int) norc_stmt_i64 (st, 3);
    int holder_kind = (int) norc_stmt_i64 (st, 4);
    bool ran = norc_stmt_i64 (st, 5) != 0;
    if (queue_kind != NORC_QUEUE_SQS)
        snprintf (a->why, a->whysize, "its queue is not an sqs queue");
    else
    if (attempt != c->attempt)
        snprintf (a->why, a->whysize, "the message is for attempt %d; the instance is attempt %d", c->attempt,
                  attempt);
    else
    if (NORC_STATUS_IS_FINAL (status) && ran) {
        *a->outcome = NORC_CLAIM_DUPLICATE;
        snprintf (a->why, a->whysize, "it has run (%s)", norc_status_name (status));
    }
    else
    if (NORC_STATUS_IS_FINAL (status))
        snprintf (a->why, a->whysize, "it has ended (%s)", norc_status_name (status));
    else
    if (status != NORC_ST_CREATED) {
        *a->outcome = NORC_CLAIM_DUPLICATE;
        snprintf (a->why, a->whysize, "it has started (%s)", norc_status_name (status));
    }
    else
    if (holder == c->executor_id)
        *a->outcome = NORC_CLAIM_ACCEPTED;
    else
    if (holder && holder_kind != NORC_DAEMON_BRIDGE) {
        *a->outcome = NORC_CLAIM_DUPLICATE;
        *a->holder = holder;
        snprintf (a->why, a->whysize, "executor %llu holds it", (unsigned long long) holder);
    }
    else
    if (!c->digest_matches) {
        st = norc_db_stmt (db, s_sql_claim_refuse);
        norc_stmt_bind_u64 (st, 0, c->instance_id);
        rc = norc_stmt_exec (st);
        snprintf (a->why, a->whysize, "its task is no longer the definition that was sent: ended ERROR");
    }
    else {
        st = norc_db_stmt (db, s_sql_claim_take);
        norc_stmt_bind_u64 (st, 0, c->executor_id);
        norc_stmt_bind_u64 (st, 1, c->instance_id);
        rc = norc_stmt_exec (st);
        *a->outcome = NORC_CLAIM_ACCEPTED;
    }
    return rc;
}

int
norc_store_claim (norc_db_t *db, const norc_claim_t *claim, int *outcome, uint64_t *holder, char *why,
                  size_t whysize)
{
    s_claim_args_t a = { claim, outcome, holder, why, whysize };
    return norc_db_txn (db, s_claim, &a);
}

static const char *s_sql_waiting =
    "UPDATE instances i JOIN queues q ON q.id = i.queue_id SET i.reason = ? "
    "WHERE i.id = ? AND i.status = 1 AND q.kind = 2";

typedef struct {
    uint64_t id;
    const char *reason;
} s_waiting_args_t;

static int
s_waiting (norc_db_t *db, void *arg)
{
    s_waiting_args_t *a = (s_waiting_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_waiting);
    norc_stmt_bind_str (st, 0, a->reason);
    norc_stmt_bind_u64 (st, 1, a->id);
    int rc = norc_stmt_exec (st);
    return rc ? rc : norc_stmt_affected (st) ? NORC_OK : NORC_NOTFOUND;
}

int
norc_store_claim_waiting (norc_db_t *db, uint64_t instance_id, const char *reason)
{
    s_waiting_args_t a = { instance_id, reason };
    return norc_db_txn (db, s_waiting, &a);
}

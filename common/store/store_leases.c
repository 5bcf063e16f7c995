//  store_leases.c - named leases (one holder at a time: dispatch, ...).
//  Each function is one transaction run by norc_db_txn (see store_internal.h).
#include "store_internal.h"

//  Named leases

static const char *s_sql_lease_row = "INSERT IGNORE INTO leases (name) VALUES (?)";
static const char *s_sql_lease_lock = "SELECT holder, epoch, until < ? OR until IS NULL FROM leases "
                                      "WHERE name = ? FOR UPDATE";
static const char *s_sql_lease_take = "UPDATE leases SET holder = ?, epoch = ?, until = ? WHERE name = ?";
static const char *s_sql_lease_release = "UPDATE leases SET holder = NULL, until = NULL "
                                         "WHERE name = ? AND holder = ?";
const char *store_sql_lease_drop = "UPDATE leases SET holder = NULL, until = NULL WHERE holder = ?";

typedef struct {
    const char *name;
    uint64_t holder;
    norc_us_t now, until;
    bool *held;
    uint64_t *epoch;
} s_lease_args_t;

static int
s_lease_acquire (norc_db_t *db, void *arg)
{
    s_lease_args_t *a = (s_lease_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_lease_row);
    norc_stmt_bind_str (st, 0, a->name);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    st = norc_db_stmt (db, s_sql_lease_lock);
    norc_stmt_bind_time (st, 0, a->now);
    norc_stmt_bind_str (st, 1, a->name);
    if ((rc = s_exec_one (st)))
        return rc;
    uint64_t holder = norc_stmt_u64 (st, 0);
    uint64_t epoch = norc_stmt_u64 (st, 1);
    bool free_now = norc_stmt_i64 (st, 2) != 0 || holder == 0;
    *a->held = holder == a->holder || free_now;
    *a->epoch = epoch;
    if (!*a->held)
        return NORC_OK;
    if (holder != a->holder)
        *a->epoch = epoch + 1;
    st = norc_db_stmt (db, s_sql_lease_take);
    norc_stmt_bind_u64 (st, 0, a->holder);
    norc_stmt_bind_u64 (st, 1, *a->epoch);
    norc_stmt_bind_time (st, 2, a->until);
    norc_stmt_bind_str (st, 3, a->name);
    return norc_stmt_exec (st);
}

int
norc_store_lease_acquire (norc_db_t *db, const char *name, uint64_t holder, norc_us_t now,
                          norc_us_t until, bool *held, uint64_t *epoch)
{
    bool local_held;
    uint64_t local_epoch;
    s_lease_args_t a = { name, holder, now, until, held ? held : &local_held, epoch ? epoch : &local_epoch };
    return norc_db_txn (db, s_lease_acquire, &a);
}

static int
s_lease_release (norc_db_t *db, void *arg)
{
    s_lease_args_t *a = (s_lease_args_t *) arg;
    norc_stmt_t *st = norc_db_stmt (db, s_sql_lease_release);
    norc_stmt_bind_str (st, 0, a->name);
    norc_stmt_bind_u64 (st, 1, a->holder);
    return norc_stmt_exec (st);
}

int
norc_store_lease_release (norc_db_t *db, const char *name, uint64_t holder)
{
    s_lease_args_t a = { .name = name, .holder = holder };
    return norc_db_txn (db, s_lease_release, &a);
}

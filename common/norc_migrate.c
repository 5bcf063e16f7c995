//  norc_migrate.c - apply deploy/sql migrations. The version table is
//  schema_version (created by migration 001). A MySQL named lock keeps two
//  migrators (say a compose one-shot and a service started with --migrate)
//  from applying the same file twice. DDL cannot be rolled back in MySQL,
//  so each migration is recorded right after it succeeds.
#include "norc_migrate.h"
#include "norc_log.h"

int
norc_migrate_latest (void)
{
    int latest = 0;
    for (int i = 0; i < norc_migrations_count; i++)
        if (norc_migrations [i].version > latest)
            latest = norc_migrations [i].version;
    return latest;
}

static const char *s_sql_has_table =
    "SELECT COUNT(*) FROM information_schema.tables "
    "WHERE table_schema = DATABASE() AND table_name = 'schema_version'";
static const char *s_sql_version = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

int
norc_migrate_current (norc_db_t *db, int *version)
{
    norc_stmt_t *st = norc_db_stmt (db, s_sql_has_table);
    int rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (norc_stmt_fetch (st) != NORC_OK)
        return NORC_ERROR;
    if (norc_stmt_i64 (st, 0) == 0) {
        *version = 0;
        return NORC_OK;
    }
    st = norc_db_stmt (db, s_sql_version);
    rc = norc_stmt_exec (st);
    if (rc)
        return rc;
    if (norc_stmt_fetch (st) != NORC_OK)
        return NORC_ERROR;
    *version = (int) norc_stmt_i64 (st, 0);
    return NORC_OK;
}

static const char *s_sql_lock = "SELECT GET_LOCK('norc_migrate', 60)";
static const char *s_sql_unlock = "SELECT RELEASE_LOCK('norc_migrate')";
static const char *s_sql_record =
    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(6))";

int
norc_migrate_run (norc_db_t *db, int *from, int *to, char *err, size_t errsize)
{
    int latest = norc_migrate_latest ();
    norc_stmt_t *st = norc_db_stmt (db, s_sql_lock);
    int rc = norc_stmt_exec (st);
    if (rc || norc_stmt_fetch (st) != NORC_OK || norc_stmt_i64 (st, 0) != 1) {
        snprintf (err, errsize, "cannot take the migration lock: %s", norc_db_errstr (db));
        return rc ? rc : NORC_AGAIN;
    }
    int current = 0;
    rc = norc_migrate_current (db, &current);
    if (rc)
        snprintf (err, errsize, "cannot read the schema version: %s", norc_db_errstr (db));
    else
    if (current > latest) {
        snprintf (err, errsize, "the database schema is version %d, newer than this Norc "
                  "(which knows up to %d); refusing to touch it", current, latest);
        rc = NORC_CONFLICT;
    }
    *from = current;
    *to = current;
    for (int i = 0; rc == NORC_OK && i < norc_migrations_count; i++) {
        const norc_migration_t *m = &norc_migrations [i];
        if (m->version <= current)
            continue;
        rc = norc_db_exec_script (db, m->sql);
        if (rc) {
            snprintf (err, errsize, "migration %s failed: %s", m->name, norc_db_errstr (db));
            break;
        }
        st = norc_db_stmt (db, s_sql_record);
        norc_stmt_bind_i64 (st, 0, m->version);
        norc_stmt_bind_str (st, 1, m->name);
        rc = norc_stmt_exec (st);
        if (rc) {
            snprintf (err, errsize, "cannot record migration %s: %s", m->name, norc_db_errstr (db));
            break;
        }
        norc_log_info ("db: applied migration %s", m->name);
        *to = m->version;
    }
    st = norc_db_stmt (db, s_sql_unlock);
    norc_stmt_exec (st);
    return rc;
}

int
norc_migrate_url (const char *url, char *err, size_t errsize)
{
    norc_db_t *db = norc_db_new (url, NULL);
    if (!db) {
        snprintf (err, errsize, "malformed database URL");
        return NORC_ERROR;
    }
    int rc = norc_db_create_database (db);
    if (rc)
        snprintf (err, errsize, "cannot connect: %s", norc_db_errstr (db));
    int from = 0, to = 0;
    if (rc == NORC_OK)
        rc = norc_migrate_run (db, &from, &to, err, errsize);
    if (rc == NORC_OK && from != to)
        norc_log_info ("db: schema migrated from version %d to %d", from, to);
    norc_db_destroy (&db);
    return rc;
}

//  norc_migrate.h - versioned schema migrations from deploy/sql, embedded in
//  every binary at build time.
#ifndef NORC_MIGRATE_H_INCLUDED
#define NORC_MIGRATE_H_INCLUDED
#include "norc.h"
#include "norc_db.h"

typedef struct {
    int version;            //  NNN of NNN_name.sql
    const char *name;       //  file name without .sql
    const char *sql;        //  its statements
} norc_migration_t;

extern const norc_migration_t norc_migrations [];
extern const int norc_migrations_count;

//  Highest schema version this build knows.
int norc_migrate_latest (void);

//  The database's schema version (0 when it has no Norc tables).
int norc_migrate_current (norc_db_t *db, int *version);

//  Bring the schema up to date: apply every missing migration in order and
//  record each. Safe to run again and from several processes at once (a
//  named lock serialises them). NORC_CONFLICT when the database is newer
//  than this build (nothing is changed). *from and *to report the versions.
int norc_migrate_run (norc_db_t *db, int *from, int *to, char *err, size_t errsize);

//  Connect to the database (creating it when missing) and migrate it;
//  what services and tests call at start-up. Logs what it did.
int norc_migrate_url (const char *url, char *err, size_t errsize);

#endif

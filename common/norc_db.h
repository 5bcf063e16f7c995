//  norc_db.h - the MySQL/MariaDB layer. The only place that includes
//  <mysql.h> besides the store modules. Prepared statements with bound
//  parameters only (DDL scripts excepted); connect, read and write
//  timeouts; reconnect; and the one retry policy for deadlocks and lost
//  connections, in norc_db_txn.
#ifndef NORC_DB_H_INCLUDED
#define NORC_DB_H_INCLUDED
#include "norc.h"

typedef struct _norc_db_t norc_db_t;
typedef struct _norc_stmt_t norc_stmt_t;

typedef struct {
    int connect_timeout_s;      //  seconds to connect
    int read_timeout_s;         //  seconds to wait for an answer
    int write_timeout_s;        //  seconds to send a query
    int retries;                //  retries of a transaction after NORC_AGAIN
} norc_db_options_t;

//  A handle for the database at url (mysql://USER[:PASS]@HOST[:PORT]/DB
//  [?socket=PATH]). Does not connect yet. NULL if the URL is malformed.
//  options may be NULL for the defaults (5, 30, 30, 8).
norc_db_t *norc_db_new (const char *url, const norc_db_options_t *options);
void       norc_db_destroy (norc_db_t **self_p);

//  A handle for db.url with the db.* timeouts and retries of a
//  configuration. NULL if the URL is malformed.
struct _norc_config_t;
norc_db_t *norc_db_new_from_config (struct _norc_config_t *config);

//  Called before each wait between retries of a transaction (the server
//  is away or busy): a daemon whose loop is held up here can still say
//  it is alive. The hook must not use this handle.
typedef void (norc_db_wait_fn) (void *arg);
void       norc_db_set_wait_hook (norc_db_t *self, norc_db_wait_fn *fn, void *arg);

//  Connect now (also done on first use). NORC_OK, or NORC_AGAIN when the
//  server cannot be reached.
int        norc_db_connect (norc_db_t *self);

//  Connect to the server without selecting the database, create the
//  database if it does not exist, then connect to it.
int        norc_db_create_database (norc_db_t *self);

//  Drop the handle's database (tests).
int        norc_db_drop_database (norc_db_t *self);

const char *norc_db_errstr (norc_db_t *self);
//  Server or client error number of the last failure, 0 if none.
unsigned   norc_db_errno (norc_db_t *self);
const char *norc_db_name (norc_db_t *self);

//  Run a script of statements separated by ';' at line ends (migrations).
int        norc_db_exec_script (norc_db_t *self, const char *sql);

//  A prepared statement for this SQL text, prepared on first use and kept
//  (and prepared again after a reconnect). Bindings are reset. The handle
//  owns the statement and keeps its own copy of the text.
norc_stmt_t *norc_db_stmt (norc_db_t *self, const char *sql);

//  Parameters, by position from 0. Strings are copied.
void norc_stmt_bind_i64 (norc_stmt_t *self, int index, int64_t value);
void norc_stmt_bind_u64 (norc_stmt_t *self, int index, uint64_t value);
void norc_stmt_bind_str (norc_stmt_t *self, int index, const char *value);  //  NULL binds NULL
void norc_stmt_bind_time (norc_stmt_t *self, int index, norc_us_t value);   //  0 binds NULL
void norc_stmt_bind_null (norc_stmt_t *self, int index);

//  Execute. NORC_OK; NORC_CONFLICT for a duplicate key; NORC_AGAIN for a
//  deadlock, a lock timeout or a lost connection; NORC_ERROR otherwise.
//  The result of a SELECT is fetched in full into client memory.
int  norc_stmt_exec (norc_stmt_t *self);
uint64_t norc_stmt_insert_id (norc_stmt_t *self);
//  Rows an INSERT, DELETE or UPDATE matched (for UPDATE: matched, even if
//  unchanged).
uint64_t norc_stmt_affected (norc_stmt_t *self);

//  Next row: NORC_OK, NORC_NOTFOUND at the end, NORC_ERROR.
int  norc_stmt_fetch (norc_stmt_t *self);
int  norc_stmt_columns (norc_stmt_t *self);
const char *norc_stmt_column_name (norc_stmt_t *self, int col);
bool norc_stmt_is_null (norc_stmt_t *self, int col);
int64_t norc_stmt_i64 (norc_stmt_t *self, int col);         //  0 if NULL
uint64_t norc_stmt_u64 (norc_stmt_t *self, int col);        //  0 if NULL
const char *norc_stmt_str (norc_stmt_t *self, int col);     //  NULL if NULL; borrowed
norc_us_t norc_stmt_time (norc_stmt_t *self, int col);      //  0 if NULL
//  The column as text (numbers and times formatted; times ISO-8601 UTC),
//  "" for NULL. Borrowed until the next call.
const char *norc_stmt_text (norc_stmt_t *self, int col);

//  Run fn inside a transaction: BEGIN, fn, COMMIT. When fn or COMMIT
//  returns NORC_AGAIN, roll back, reconnect if needed, wait a little and
//  run again, up to the configured retries. Any other failure rolls back
//  and is returned. fn must do nothing but database work (it may run more
//  than once).
typedef int (norc_db_txn_fn) (norc_db_t *db, void *arg);
int  norc_db_txn (norc_db_t *self, norc_db_txn_fn *fn, void *arg);
//  How long the server has been out of reach, in ms (at least 1), as the
//  last transaction found it; 0 when it was reached.
int64_t norc_db_down_ms (norc_db_t *self);
//  While the server is out of reach, make one attempt per transaction
//  instead of retrying (for a service that must keep answering and whose
//  work is resent anyway).
void norc_db_set_fail_fast (norc_db_t *self, bool fail_fast);

//  True while inside norc_db_txn.
bool norc_db_in_txn (norc_db_t *self);

//  Test hook: the server-side id of the current connection (to kill it).
uint64_t norc_db_thread_id (norc_db_t *self);

#endif

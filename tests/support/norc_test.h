//  norc_test.h - helpers for the test suites: private databases on the
//  test server, spawning and stopping real binaries, waiting for a state.
#ifndef NORC_TEST_H_INCLUDED
#define NORC_TEST_H_INCLUDED
#include "norc.h"
#include "norc_db.h"

//  URL of a fresh database on the server named by NORC_TEST_DB (set by
//  scripts/test.sh), migrated to the latest schema. Caller owns the result;
//  aborts the test when there is no server.
char *norc_test_db_create (void);

//  Drop that database and free the URL.
void norc_test_db_drop (char **url_p);

//  An open handle on the URL (connected). Caller destroys it.
norc_db_t *norc_test_db_open (const char *url);

//  Run an SQL statement (no result wanted) on a handle; asserts success.
void norc_test_db_exec (norc_db_t *db, const char *sql);

//  First column of the first row of a query, as an integer (-1 if none).
int64_t norc_test_db_int (norc_db_t *db, const char *sql);

//  Poll cond(arg) every 10 ms until true or timeout_ms passes.
bool norc_test_wait_for (bool (*cond) (void *arg), void *arg, int timeout_ms);

//  Run a program (path and NULL-terminated argv) to completion with extra
//  environment entries ("K=V", NULL-terminated, may be NULL); capture its
//  stdout and stderr (caller frees). Returns the exit status, or -1 when it
//  was killed by a signal.
int norc_test_run (const char *const *argv, const char *const *env, char **out, char **err);

//  Path of a Norc binary in the build tree, e.g. "norcctl". Caller frees.
char *norc_test_bin (const char *name);

#endif

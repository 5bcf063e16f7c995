//  norc_test.h - helpers for the test suites: private databases on the
//  test server, spawning and stopping real binaries, waiting for a state.
#ifndef NORC_TEST_H_INCLUDED
#define NORC_TEST_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_msg.h"

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

//  A new directory /tmp/norc-NAME-* only this user can open. Caller frees;
//  norc_test_rmdir removes it with what it holds.
char *norc_test_tmpdir (const char *name);
void norc_test_rmdir (char **path_p);

//  Send one API request (op and one argument, key may be NULL) on client
//  and wait timeout_ms for its answer: the API-REPLY (caller destroys) or
//  NULL when none came.
norc_msg_t *norc_test_api_ask (zsock_t *client, const char *op, const char *key, const char *value,
                               int timeout_ms);

//  A loopback TCP port nothing listens on now.
int norc_test_free_port (void);

//  Path of a Norc binary in the build tree, e.g. "norcctl". Caller frees.
char *norc_test_bin (const char *name);

//  A private Norc for one test: a database, a temp dir, ipc:// endpoints,
//  and the real service binaries started with that configuration.
typedef struct {
    char *dir;              //  temp dir (logs, spool, sockets, service output)
    char *db_url;           //  its database
    char **env;             //  NORC_* settings for every program, NULL-terminated
    pid_t pids [32];        //  started services, each the leader of its own process group
    char *names [32];
    int count;
    norc_db_t *db;          //  the helpers' own handle on its database (opened when first needed)
} norc_test_system_t;

//  Make the database, the dir and the settings (nothing is started yet).
norc_test_system_t *norc_test_system_new (void);

//  Start a service binary (e.g. "norc-scheduler") with extra arguments
//  (NULL-terminated, may be NULL); its output goes to DIR/NAME-N.log.
//  It leads a process group of its own, which the system stops whole.
//  Returns its pid.
pid_t norc_test_system_start (norc_test_system_t *self, const char *binary, const char *const *args);

//  Start the aggregator, archiver and scheduler, and wait until the API
//  answers.
void norc_test_system_start_core (norc_test_system_t *self);

//  Run norcctl with these arguments (NULL-terminated); output as for
//  norc_test_run. Returns the exit status.
int norc_test_system_ctl (norc_test_system_t *self, char **out, char **err, ...);

//  Signal one service (by pid) and wait for it when sig is SIGKILL or
//  SIGTERM (at most 10 s).
void norc_test_system_signal (norc_test_system_t *self, pid_t pid, int sig);

//  The pid of the last started instance of a service binary still
//  running (fails the test when there is none).
pid_t norc_test_system_pid (norc_test_system_t *self, const char *binary);

//  Stop every service and what is left in its process group (SIGTERM,
//  then SIGKILL), drop the database, remove the dir, free.
void norc_test_system_destroy (norc_test_system_t **self_p);

//  Add a setting ("NORC_KEY=VALUE") for every program started after.
void norc_test_system_setenv (norc_test_system_t *self, const char *entry);

//  The value of a NORC_* setting of the system (its endpoints...), or NULL.
const char *norc_test_system_env (norc_test_system_t *self, const char *name);

//  How many lines a file has (-1 when it cannot be read).
int norc_test_file_lines (const char *path);

//  An open handle on the system's database.
norc_db_t *norc_test_system_db (norc_test_system_t *self);

//  Wait until the first column of sql (an integer) reaches want, polling
//  every 10 ms; fails the test after timeout_ms with the value it has.
void norc_test_db_wait_count (norc_db_t *db, const char *sql, int64_t want, int timeout_ms);

//  What norc_test_count counts: rows of one kind, in one status (or any).
typedef enum {
    NORC_TEST_INSTANCES,    //  instances
    NORC_TEST_EXECUTORS,    //  daemons that are executors
    NORC_TEST_SCHEDULERS,   //  daemons that are schedulers
    NORC_TEST_DAEMONS,      //  every daemon
} norc_test_rows_t;

#define NORC_TEST_ANY_STATUS (-1)

//  How many rows of that kind are in that status (a NORC_ST_* value or
//  NORC_TEST_ANY_STATUS), e.g.
//  norc_test_count (sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS).
int64_t norc_test_count (norc_test_system_t *self, norc_test_rows_t rows, int status);

//  Wait until that count reaches want; fails the test after timeout_ms
//  with the count it has.
void norc_test_wait_count (norc_test_system_t *self, norc_test_rows_t rows, int status, int64_t want,
                           int timeout_ms);

//  Wait until the log of an instance (its final file, or the .part the
//  archiver writes while it runs) holds text; false after timeout_ms.
bool norc_test_log_has (norc_test_system_t *self, uint64_t instance_id, const char *text, int timeout_ms);

//  Wait until every live daemon of the system has been heard from twice
//  since the call (two heartbeats recorded after it): each has turned its
//  loop over, so what was sent to it before has been handled. The
//  condition a test waits on before it checks that something did NOT
//  happen (fails the test after 10 s).
void norc_test_system_settle (norc_test_system_t *self);

//  The process helpers look only at this test's own processes: the
//  descendants of the test process, which a test system makes a child
//  subreaper so that orphaned task processes stay among them. Never the
//  rest of the machine.
//
//  True once none of them has a command line (its arguments joined by
//  spaces) that matches pattern (an extended regex), within timeout_ms. A
//  signalled process is gone a moment after its signal, not at once.
bool norc_test_process_gone (const char *pattern, int timeout_ms);

//  True once one of them matches pattern, within timeout_ms.
bool norc_test_process_seen (const char *pattern, int timeout_ms);

//  Send sig to each of them that matches pattern; returns how many.
int norc_test_process_kill (const char *pattern, int sig);

//  An end-to-end suite: before each test a private Norc with its core
//  services running (s_sys) and a handle on its database (s_db); both are
//  gone after it. The test file includes <criterion/criterion.h> first.
#define NORC_TEST_E2E_SUITE(name, timeout_s) \
    static norc_test_system_t *s_sys; \
    static norc_db_t *s_db; \
    static void \
    s_e2e_setup (void) \
    { \
        norc_log_init ("test", NORC_LOG_ERROR); \
        s_sys = norc_test_system_new (); \
        norc_test_system_start_core (s_sys); \
        s_db = norc_test_system_db (s_sys); \
    } \
    static void \
    s_e2e_teardown (void) \
    { \
        norc_db_destroy (&s_db); \
        norc_test_system_destroy (&s_sys); \
    } \
    TestSuite (name, .init = s_e2e_setup, .fini = s_e2e_teardown, .timeout = timeout_s)

//  Run norcctl on a system with these arguments; the command must succeed.
#define NORC_TEST_CTL_OK(sys, ...) do { \
        char *ok_out = NULL, *ok_err = NULL; \
        int ok_rc = norc_test_system_ctl ((sys), &ok_out, &ok_err, __VA_ARGS__, (const char *) NULL); \
        cr_assert_eq (ok_rc, 0, "norcctl failed: %s%s", ok_out, ok_err); \
        free (ok_out); \
        free (ok_err); \
    } while (0)

#endif

//  End to end: jobs (graphs of command tasks) defined with norcctl, run by
//  the real scheduler and executors: the original's six-node graph in its
//  ready sets, a whole job on one executor slot, a failure that skips what
//  is downstream, a timeout and a kill that stop the running nodes.
#include <criterion/criterion.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (jobs, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static void
s_wait (const char *sql, int64_t want)
{
    norc_test_db_wait_count (s_db, sql, want, 20000);
}

static void
s_executor (const char *slots)
{
    const char *args [] = { "Q", "-c", slots, NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
}

//  norcctl expecting failure, with this text on stderr
static void
s_refused (const char *expect, ...)
{
    const char *argv [16];
    va_list ap;
    va_start (ap, expect);
    int n = 0;
    while (n < 15 && (argv [n] = va_arg (ap, const char *)))
        n++;
    va_end (ap);
    for (int i = n; i < 16; i++)
        argv [i] = NULL;
    char *out, *err;
    int rc = norc_test_system_ctl (s_sys, &out, &err, argv [0], argv [1], argv [2], argv [3], argv [4], argv [5],
                                   argv [6], argv [7], argv [8], argv [9], argv [10], (const char *) NULL);
    cr_expect_neq (rc, 0, "%s %s %s: accepted", argv [0], argv [1], argv [2]);
    cr_expect_not_null (strstr (err, expect), "expected \"%s\" in: %s", expect, err);
    free (out);
    free (err);
}

//  The node instances of job instance `run` that are in `status`, as the
//  node names joined in id order ("n2,n4")
static char *
s_nodes (int run, const char *status_cond)
{
    char *sql = norc_asprintf ("SELECT COALESCE(GROUP_CONCAT(n.name ORDER BY n.name), '') FROM instances i "
                               "JOIN job_nodes n ON n.id = i.job_node_id "
                               "WHERE i.job_instance_id = %d AND %s", run, status_cond);
    norc_stmt_t *st = norc_db_stmt (s_db, sql);
    cr_assert_eq (norc_stmt_exec (st), NORC_OK);
    cr_assert_eq (norc_stmt_fetch (st), NORC_OK);
    char *text = norc_strdup (norc_stmt_str (st, 0) ? norc_stmt_str (st, 0) : "");
    while (norc_stmt_fetch (st) == NORC_OK)
        ;
    free (sql);
    return text;
}

static void
s_expect_nodes (int run, const char *status_cond, const char *want)
{
    char *got = s_nodes (run, status_cond);
    cr_expect_str_eq (got, want, "nodes with %s: %s, expected %s", status_cond, got, want);
    free (got);
}

Test (jobs, definitions_are_checked_when_made)
{
    OK ("task", "add", "A", "--command", "true");
    OK ("task", "add", "B", "--command", "true");
    s_refused ("node \"x\": unknown task \"Nope\"", "job", "add", "J", "--node", "x=Nope", NULL);
    s_refused ("the edges make a cycle through node", "job", "add", "J", "--node", "a=A", "--node", "b=B",
               "--edge", "a:b", "--edge", "b:a", NULL);
    s_refused ("no node named \"c\"", "job", "add", "J", "--node", "a=A", "--edge", "a:c", NULL);
    s_refused ("joins a node to itself", "job", "add", "J", "--node", "a=A", "--edge", "a:a", NULL);
    s_refused ("a job needs 1 to", "job", "add", "J", NULL);
    s_refused ("is given twice", "job", "add", "J", "--node", "a=A", "--node", "a=B", NULL);
    OK ("job", "add", "J", "--node", "a=A", "--node", "b=B", "--edge", "a:b", "--timeout", "60");
    s_refused ("a task named \"J\" already exists", "job", "add", "J", "--node", "a=A", NULL);
    s_refused ("task \"J\" is a job; a node runs a command task", "job", "add", "K", "--node", "j=J", NULL);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "job", "show", "J", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "After"), "%s", out);
    cr_expect_not_null (strstr (out, "b        B      a"), "%s", out);
    free (out);
    free (err);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "task", "list", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "job"), "%s", out);
    free (out);
    free (err);
    //  From a JSON file, with "after" lists and an "edges" array
    char *path = norc_asprintf ("%s/job.json", s_sys->dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs ("{\"description\": \"from a file\", \"timeout\": 30,\n"
           " \"nodes\": [{\"name\": \"first\", \"task\": \"A\"},\n"
           "           {\"name\": \"second\", \"task\": \"B\", \"after\": [\"first\"]},\n"
           "           {\"name\": \"third\", \"task\": \"A\"}],\n"
           " \"edges\": [[\"second\", \"third\"]]}\n", file);
    fclose (file);
    OK ("job", "add", "FromFile", "--file", path);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM job_edges e JOIN tasks t ON t.id = e.job_id "
                                          "WHERE t.name = 'FromFile'"), 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT timeout_s FROM tasks WHERE name = 'FromFile' AND kind = 2"), 30);
    file = fopen (path, "w");
    fputs ("{\"nodes\": [{\"name\": \"a\", \"task\": \"A\"},\n  oops]}", file);
    fclose (file);
    s_refused ("job.json:2:", "job", "add", "Bad", "--file", path, NULL);
    free (path);
}

Test (jobs, the_original_six_node_graph_runs_in_its_ready_sets)
{
    //  Node i waits for the file go-i: the test releases the nodes
    OK ("queue", "add", "Q");
    for (int n = 0; n < 6; n++) {
        char task [16], command [256];
        snprintf (task, sizeof task, "T%d", n);
        snprintf (command, sizeof command, "while [ ! -e %s/go-%d ]; do sleep 0.02; done; echo node %d done",
                  s_sys->dir, n, n);
        OK ("task", "add", task, "--command", command);
    }
    OK ("job", "add", "Six", "--node", "n0=T0", "--node", "n1=T1", "--node", "n2=T2", "--node", "n3=T3",
        "--node", "n4=T4", "--node", "n5=T5", "--edge", "n0:n2", "--edge", "n0:n3", "--edge", "n1:n4",
        "--edge", "n2:n3", "--edge", "n2:n5", "--edge", "n3:n5", "--edge", "n4:n5");
    s_executor ("4");
    OK ("run", "Six", "--queue", "Q");
    static const struct { const char *release, *running; } waves [] = {
        { NULL, "n0,n1" }, { "0 1", "n2,n4" }, { "2 4", "n3" }, { "3", "n5" }
    };
    int seen = 0;
    for (size_t w = 0; w < 4; w++) {
        if (waves [w].release) {
            char *cmd = norc_asprintf ("cd %s && for n in %s; do touch go-$n; done", s_sys->dir, waves [w].release);
            cr_assert_eq (system (cmd), 0);
            free (cmd);
        }
        seen += (int) (strlen (waves [w].running) + 1) / 3;
        //  Exactly this set running (a node that was released may still be
        //  recorded running for a moment after its child appeared)
        char *sql = norc_asprintf ("SELECT (SELECT COALESCE(GROUP_CONCAT(n.name ORDER BY n.name), '') "
                                   "FROM instances i JOIN job_nodes n ON n.id = i.job_node_id "
                                   "WHERE i.job_instance_id = 1 AND i.status = 2) = '%s' "
                                   "AND (SELECT COUNT(*) FROM instances WHERE job_instance_id = 1) = %d",
                                   waves [w].running, seen);
        s_wait (sql, 1);
        free (sql);
        s_expect_nodes (1, "i.status = 2", waves [w].running);
        cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM instances WHERE id = 1"), 2, "the job runs");
    }
    char *cmd = norc_asprintf ("touch %s/go-5", s_sys->dir);
    cr_assert_eq (system (cmd), 0);
    free (cmd);
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7 AND ended_at IS NOT NULL", 1);
    s_expect_nodes (1, "i.status = 7", "n0,n1,n2,n3,n4,n5");
    //  No node started before every parent had ended
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM job_edges e "
                                          "JOIN instances p ON p.job_node_id = e.parent_id "
                                          "JOIN instances c ON c.job_node_id = e.child_id "
                                          "WHERE c.started_at < p.ended_at"), 0);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE job_instance_id = 1 "
                                          "AND trigger_kind = 3 AND executor_id IS NOT NULL"), 6);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND executor_id IS NULL"), 1,
                  "the job itself took no executor");
    char *out, *err;
    int node5 = (int) norc_test_db_int (s_db, "SELECT i.id FROM instances i JOIN job_nodes n "
                                              "ON n.id = i.job_node_id WHERE n.name = 'n5'");
    char id [16];
    snprintf (id, sizeof id, "%d", node5);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", id, NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "node 5 done"), "%s", out);
    free (out);
    free (err);
}

Test (jobs, one_slot_runs_a_whole_job_and_jobs_can_be_scheduled)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Step", "--command", "echo step");
    //  a -> (b, c) -> d, on an executor with one slot: the job takes none
    OK ("job", "add", "Diamond", "--node", "a=Step", "--node", "b=Step", "--node", "c=Step", "--node", "d=Step",
        "--edge", "a:b", "--edge", "a:c", "--edge", "b:d", "--edge", "c:d");
    s_executor ("1");
    OK ("run", "Diamond", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1);
    s_expect_nodes (1, "i.status = 7", "a,b,c,d");
    //  Scheduled: every second, twice
    OK ("schedule", "add", "Diamond", "--queue", "Q", "--period", "1", "--reps", "2");
    s_wait ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.name = 'Diamond' AND i.schedule_id IS NOT NULL AND i.status = 7", 2);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE trigger_kind = 3 AND status = 7"), 12);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE status <> 7"), 0);
}

Test (jobs, a_failing_node_skips_what_is_downstream_and_fails_the_job)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Ok", "--command", "true");
    OK ("task", "add", "Bad", "--command", "echo bad; exit 3");
    OK ("task", "add", "Slow", "--command", "sleep 1; echo side done");
    OK ("job", "add", "J", "--node", "ok=Ok", "--node", "bad=Bad", "--node", "down=Ok", "--node", "down2=Ok",
        "--node", "side=Slow", "--edge", "ok:bad", "--edge", "bad:down", "--edge", "down:down2", "--edge", "ok:side");
    s_executor ("2");
    OK ("run", "J", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 13", 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 "
                                          "AND reason = '1 of 5 nodes failed: bad'"), 1);
    s_expect_nodes (1, "i.status = 13 AND i.exit_code = 3", "bad");
    s_expect_nodes (1, "i.status = 10", "down,down2");
    s_expect_nodes (1, "i.status = 7", "ok,side");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN job_nodes n ON n.id = i.job_node_id "
                                          "WHERE n.name = 'down' "
                                          "AND i.reason = 'skipped: upstream node \"bad\" did not succeed'"), 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE status = 10 "
                                          "AND executor_id IS NULL AND started_at IS NULL"), 2, "never ran");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "instances", "--failed", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "FAILURE"), "%s", out);
    cr_expect_not_null (strstr (out, "Job"), "node instances name their job's run: %s", out);
    free (out);
    free (err);
}

Test (jobs, a_timeout_or_a_kill_stops_the_running_nodes)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "echo long; sleep 30");
    OK ("task", "add", "After", "--command", "true");
    OK ("job", "add", "Timed", "--node", "long=Long", "--node", "after=After", "--edge", "long:after",
        "--timeout", "2");
    OK ("job", "add", "Untimed", "--node", "long=Long", "--node", "after=After", "--edge", "long:after");
    s_executor ("2");
    OK ("run", "Timed", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 15 "
            "AND reason = 'the job timed out after 2 s'", 1);
    s_wait ("SELECT COUNT(*) FROM instances WHERE job_instance_id = 1 AND status = 9", 1);
    s_expect_nodes (1, "i.status = 9", "long");
    s_expect_nodes (1, "i.status = 10", "after");
    //  Killed with norcctl while its node runs
    OK ("run", "Untimed", "--queue", "Q");
    s_wait ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.name = 'Long' AND i.status = 2", 1);
    int job = (int) norc_test_db_int (s_db, "SELECT i.id FROM instances i JOIN tasks t ON t.id = i.task_id "
                                            "WHERE t.name = 'Untimed'");
    char id [16];
    snprintf (id, sizeof id, "%d", job);
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "instance", "kill", id, NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "kill requested"), "%s", out);
    free (out);
    free (err);
    char *sql = norc_asprintf ("SELECT COUNT(*) FROM instances WHERE job_instance_id = %d AND status = 9", job);
    s_wait (sql, 1);
    free (sql);
    s_expect_nodes (job, "i.status = 9", "long");
    s_expect_nodes (job, "i.status = 10", "after");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE status < 7"), 0);
    cr_expect (norc_test_process_gone ("sleep 30$", 2000), "the nodes' processes are gone");
}

Test (jobs, the_replace_policy_stops_a_running_job)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Long", "--command", "echo long; sleep 30");
    OK ("job", "add", "Hold", "--node", "long=Long");
    s_executor ("2");
    //  A new run every 3 s replaces the one still going
    OK ("schedule", "add", "Hold", "--queue", "Q", "--period", "3", "--reps", "2", "--concurrency", "replace");
    s_wait ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.name = 'Hold' AND i.status = 9 AND i.reason LIKE 'killed on request by the replace policy%'", 1);
    s_wait ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.name = 'Long' AND i.status = 9", 1);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
                                          "WHERE t.name = 'Hold' AND i.status = 2"), 1, "the second run goes on");
    int second = (int) norc_test_db_int (s_db, "SELECT MAX(i.id) FROM instances i JOIN tasks t ON t.id = i.task_id "
                                               "WHERE t.name = 'Hold'");
    char id [16];
    snprintf (id, sizeof id, "%d", second);
    OK ("instance", "kill", id);
    s_wait ("SELECT COUNT(*) FROM instances i JOIN tasks t ON t.id = i.task_id "
            "WHERE t.name = 'Long' AND i.status = 9", 2);
}

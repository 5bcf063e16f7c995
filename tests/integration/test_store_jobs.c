//  Integration tests of the store's jobs: definitions and the steps of a run, against the real MariaDB.
#include "store_fixture.h"

TestSuite (store_jobs, .init = s_setup, .fini = s_teardown);

static uint64_t
s_six_node_job (const char *name, int timeout_s)
{
    static const norc_dag_edge_t edges [] = {
        { 0, 2 }, { 0, 3 }, { 1, 4 }, { 2, 3 }, { 2, 5 }, { 3, 5 }, { 4, 5 }
    };
    norc_job_graph_t graph = { 0 };
    graph.node_count = 6;
    graph.nodes = (norc_job_node_t *) norc_calloc (6, sizeof (norc_job_node_t));
    for (int n = 0; n < 6; n++) {
        char task [64];
        snprintf (task, sizeof task, "%s-T%d", name, n);
        graph.nodes [n].task_id = s_task (task, "true");
        graph.nodes [n].name = norc_asprintf ("n%d", n);
    }
    graph.edges = (norc_dag_edge_t *) norc_calloc (7, sizeof (norc_dag_edge_t));
    memcpy (graph.edges, edges, sizeof edges);
    graph.edge_count = 7;
    norc_task_t job = { 0 };
    job.name = norc_strdup (name);
    job.timeout_s = timeout_s;
    cr_assert_eq (norc_store_job_add (s_db, &job, &graph), NORC_OK, "%s", norc_db_errstr (s_db));
    uint64_t id = job.id;
    norc_task_clear (&job);
    norc_job_graph_clear (&graph);
    //  Read back
    cr_assert_eq (norc_store_job_get (s_db, id, &graph), NORC_OK);
    cr_expect_eq (graph.node_count, 6);
    cr_expect_eq (graph.edge_count, 7);
    cr_expect_str_eq (graph.nodes [5].name, "n5");
    norc_job_graph_clear (&graph);
    return id;
}

//  The nodes (by name digit) among a step's created instances, as a bit set
static unsigned
s_created_nodes (uint64_t job_task, const norc_job_step_t *step)
{
    norc_job_graph_t graph = { 0 };
    cr_assert_eq (norc_store_job_get (s_db, job_task, &graph), NORC_OK);
    unsigned set = 0;
    for (size_t i = 0; i < step->created_count; i++)
        for (size_t n = 0; n < graph.node_count; n++)
            if (graph.nodes [n].id == step->created [i].job_node_id)
                set |= 1u << (graph.nodes [n].name [1] - '0');
    norc_job_graph_clear (&graph);
    return set;
}

static void
s_end (uint64_t id, int status)
{
    norc_instance_t end = { .id = id, .status = status, .executor_id = 0, .has_exit = true,
                            .exit_code = status == NORC_ST_SUCCESS ? 0 : 1 };
    cr_assert_eq (norc_store_instance_apply (s_db, &end, 1, NULL), NORC_OK);
}

Test (store_jobs, a_job_run_releases_the_original_ready_sets_in_order)
{
    uint64_t job = s_six_node_job ("Six", 0);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, run, &inst), NORC_OK);
    cr_expect_eq (inst.task_kind, NORC_TASK_JOB);
    norc_instance_clear (&inst);

    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.started);
    cr_expect_eq (step.status, NORC_ST_RUNNING);
    cr_expect_eq (s_created_nodes (job, &step), 0x03, "{0, 1}");
    cr_expect_str_eq (step.created [0].queue, "Q");
    uint64_t first [2] = { step.created [0].id, step.created [1].id };
    norc_job_step_clear (&step);
    //  Again: nothing new (safe to repeat)
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_not (step.started);
    cr_expect_eq (step.created_count, 0);
    cr_expect_eq (step.active_count, 2);
    norc_job_step_clear (&step);

    s_end (first [0], NORC_ST_SUCCESS);
    s_end (first [1], NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), (1u << 2) | (1u << 4), "{2, 4}");
    for (size_t i = 0; i < step.created_count; i++)
        s_end (step.created [i].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 3, "{3}");
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 5, "{5}");
    cr_expect_not (step.ended);
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_instance_get (s_db, run, &inst), NORC_OK);
    cr_expect_eq (inst.status, NORC_ST_SUCCESS);
    cr_expect_neq (inst.ended, 0);
    norc_instance_clear (&inst);
    //  Not a job: refused
    cr_expect_eq (norc_store_job_advance (s_db, first [0], 0, &step), NORC_CONFLICT);
    cr_expect_eq (norc_store_job_advance (s_db, 999999, 0, &step), NORC_NOTFOUND);
}

Test (store_jobs, a_failed_node_skips_its_downstream_and_fails_the_job)
{
    uint64_t job = s_six_node_job ("Six", 0);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    uint64_t n0 = step.created [0].id, n1 = step.created [1].id;
    norc_job_step_clear (&step);
    //  n0 fails while n1 still runs: 2, 3 and 5 are skipped, 4 waits for n1
    s_end (n0, NORC_ST_FAILURE);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.created_count, 0);
    cr_expect_eq (step.closed_count, 3);
    for (size_t i = 0; i < step.closed_count; i++) {
        cr_expect_eq (step.closed [i].status, NORC_ST_SKIPPED);
        cr_expect (strstr (step.closed [i].reason, "upstream node"), "%s", step.closed [i].reason);
    }
    cr_expect_not (step.ended);
    norc_job_step_clear (&step);
    s_end (n1, NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (s_created_nodes (job, &step), 1u << 4, "the independent branch goes on");
    s_end (step.created [0].id, NORC_ST_SUCCESS);
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_FAILURE);
    cr_expect_str_eq (step.reason, "1 of 6 nodes failed: n0");
    norc_job_step_clear (&step);
}

Test (store_jobs, an_ended_job_stops_what_is_left_of_it)
{
    uint64_t job = s_six_node_job ("Six", 5);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0, exec = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job, q, &run), NORC_OK);
    norc_daemon_t d = { .kind = NORC_DAEMON_EXECUTOR, .host = "h", .pid = 1 };
    cr_assert_eq (norc_store_daemon_register (s_db, &d), NORC_OK);
    exec = d.id;
    norc_job_step_t step = { 0 };
    norc_us_t t0 = norc_now_us ();
    cr_assert_eq (norc_store_job_advance (s_db, run, t0, &step), NORC_OK);
    cr_expect_eq (step.timeout_s, 5);
    uint64_t n0 = step.created [0].id, n1 = step.created [1].id;
    norc_job_step_clear (&step);
    //  n0 runs on an executor, n1 still waits
    s_start (n0, exec, 0);
    cr_assert_eq (norc_store_job_advance (s_db, run, t0 + 4 * NORC_US_PER_SEC, &step), NORC_OK);
    cr_expect_not (step.ended, "not yet");
    norc_job_step_clear (&step);
    cr_assert_eq (norc_store_job_advance (s_db, run, t0 + 6 * NORC_US_PER_SEC, &step), NORC_OK);
    cr_expect (step.ended);
    cr_expect_eq (step.status, NORC_ST_TIMEDOUT);
    cr_expect_str_eq (step.reason, "the job timed out after 5 s");
    cr_expect_eq (step.stop_count, 1);
    cr_expect_eq (step.stop [0], n0, "the running node is to be stopped");
    cr_expect_eq (step.closed_count, 5, "n1 killed before it started, four nodes skipped");
    size_t killed = 0;
    for (size_t i = 0; i < step.closed_count; i++)
        if (step.closed [i].status == NORC_ST_KILLED) {
            cr_expect_eq (step.closed [i].id, n1);
            killed++;
        }
    cr_expect_eq (killed, 1);
    norc_job_step_clear (&step);
    //  Later steps change nothing but still name the node to stop
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_not (step.ended);
    cr_expect_eq (step.closed_count, 0);
    cr_expect_eq (step.stop_count, 1);
    norc_job_step_clear (&step);
    uint64_t *ids = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_job_running (s_db, &ids, &count), NORC_OK);
    cr_expect_eq (count, 0);
    free (ids);
}

Test (store_jobs, a_retried_node_keeps_its_job_waiting)
{
    //  r (one retry allowed) -> after
    norc_job_graph_t graph = { 0 };
    graph.node_count = 2;
    graph.nodes = (norc_job_node_t *) norc_calloc (2, sizeof (norc_job_node_t));
    graph.nodes [0].name = norc_strdup ("r");
    graph.nodes [0].task_id = s_task ("Retried", "false");
    graph.nodes [1].name = norc_strdup ("after");
    graph.nodes [1].task_id = s_task ("After", "true");
    graph.edges = (norc_dag_edge_t *) norc_calloc (1, sizeof (norc_dag_edge_t));
    graph.edges [0].parent = 0;
    graph.edges [0].child = 1;
    graph.edge_count = 1;
    norc_task_t job = { 0 };
    job.name = norc_strdup ("J");
    cr_assert_eq (norc_store_job_add (s_db, &job, &graph), NORC_OK, "%s", norc_db_errstr (s_db));
    norc_job_graph_clear (&graph);
    uint64_t q = s_queue ("Q");
    uint64_t run = 0;
    cr_assert_eq (norc_store_instance_manual (s_db, job.id, q, &run), NORC_OK);
    norc_task_clear (&job);
    norc_job_step_t step = { 0 };
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_assert_eq (step.created_count, 1);
    uint64_t r1 = step.created [0].id;
    norc_job_step_clear (&step);
    uint64_t *ids = NULL;
    size_t count = 0;
    cr_assert_eq (norc_store_job_running (s_db, &ids, &count), NORC_OK);
    cr_expect_eq (count, 1);
    cr_expect_eq (ids [0], run);
    free (ids);
    //  r fails; its retry belongs to the same run and node
    s_end (r1, NORC_ST_FAILURE);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.closed_count, 0, "nothing skipped while a retry waits");
    cr_expect_not (step.ended);
    cr_assert_eq (step.active_count, 1);
    uint64_t r2 = step.active [0];
    cr_expect_neq (r2, r1);
    norc_job_step_clear (&step);
    norc_instance_t inst = { 0 };
    cr_assert_eq (norc_store_instance_get (s_db, r2, &inst), NORC_OK);
    cr_expect_eq (inst.attempt, 2);
    cr_expect_eq (inst.job_instance_id, run);
    cr_expect_eq (inst.retry_of, r1);
    norc_instance_clear (&inst);
    s_end (r2, NORC_ST_SUCCESS);
    cr_assert_eq (norc_store_job_advance (s_db, run, 0, &step), NORC_OK);
    cr_expect_eq (step.created_count, 1, "the retry succeeded: after runs");
    norc_job_step_clear (&step);
}

//  Ticks that fire nothing are recorded as runs: consecutive ones of a
//  schedule with the same outcome and reason are one row, within a batch
//  and across batches; a fire or another reason starts a new row; a retried
//  batch counts nothing twice.

//  norc_dag: definition checks and the step that decides what a job run does
//  next, on the original's six-node test graph among others.
#include <criterion/criterion.h>
#include "norc_dag.h"

//  The original's test graph: 0->2, 0->3, 1->4, 2->3, 2->5, 3->5, 4->5
static const norc_dag_edge_t s_six [] = {
    { 0, 2 }, { 0, 3 }, { 1, 4 }, { 2, 3 }, { 2, 5 }, { 3, 5 }, { 4, 5 }
};
#define SIX_EDGES (sizeof s_six / sizeof s_six [0])

//  The nodes the step starts, as a bit set
static unsigned
s_started (const norc_node_state_t *state, int *end)
{
    norc_dag_action_t action [6];
    *end = norc_dag_step (6, s_six, SIX_EDGES, state, action);
    unsigned set = 0;
    for (int n = 0; n < 6; n++)
        if (action [n] == NORC_DAG_START)
            set |= 1u << n;
    return set;
}

Test (norc_dag, the_six_node_graph_is_accepted)
{
    size_t culprit = 99;
    cr_expect_eq (norc_dag_check (6, s_six, SIX_EDGES, &culprit), NORC_OK);
    cr_expect_eq (norc_dag_check (0, NULL, 0, &culprit), NORC_OK, "an empty job");
}

Test (norc_dag, a_cycle_is_refused_and_a_node_on_it_named)
{
    //  0 -> 1 -> 2 -> 3 -> 1, and 4 hangs below the cycle
    norc_dag_edge_t edges [] = { { 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 1 }, { 3, 4 } };
    size_t culprit = 99;
    cr_assert_eq (norc_dag_check (5, edges, 5, &culprit), NORC_CONFLICT);
    cr_expect (culprit >= 1 && culprit <= 3, "node %zu is on the cycle", culprit);
    norc_dag_edge_t two [] = { { 0, 1 }, { 1, 0 } };
    cr_expect_eq (norc_dag_check (2, two, 2, &culprit), NORC_CONFLICT);
}

Test (norc_dag, bad_edges_are_refused)
{
    norc_dag_edge_t self [] = { { 0, 1 }, { 1, 1 } };
    size_t culprit = 99;
    cr_expect_eq (norc_dag_check (2, self, 2, &culprit), NORC_ERROR);
    cr_expect_eq (culprit, 1);
    norc_dag_edge_t out [] = { { 0, 7 } };
    cr_expect_eq (norc_dag_check (2, out, 1, &culprit), NORC_ERROR);
}

Test (norc_dag, the_ready_sets_of_the_six_node_graph)
{
    norc_node_state_t state [6] = { 0 };
    int end;
    cr_expect_eq (s_started (state, &end), 0x03, "{0, 1}");
    cr_expect_eq (end, 0);
    state [0] = state [1] = NORC_NODE_ACTIVE;
    cr_expect_eq (s_started (state, &end), 0, "nothing while they run");
    state [0] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (s_started (state, &end), 1u << 2, "2 as soon as 0 is done");
    state [1] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (s_started (state, &end), (1u << 2) | (1u << 4), "{2, 4}");
    state [2] = state [4] = NORC_NODE_ACTIVE;
    cr_expect_eq (s_started (state, &end), 0);
    state [2] = state [4] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (s_started (state, &end), 1u << 3, "{3}");
    state [3] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (s_started (state, &end), 1u << 5, "{5}");
    state [5] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (s_started (state, &end), 0);
    cr_expect_eq (end, NORC_ST_SUCCESS);
}

Test (norc_dag, a_failure_skips_what_is_downstream_and_lets_the_rest_finish)
{
    norc_node_state_t state [6] = {
        NORC_NODE_SUCCEEDED, NORC_NODE_ACTIVE, NORC_NODE_FAILED, NORC_NODE_MISSING, NORC_NODE_MISSING,
        NORC_NODE_MISSING
    };
    norc_dag_action_t action [6];
    //  2 failed: 3 and 5 are downstream; 1 still runs, so 4 waits for it
    cr_expect_eq (norc_dag_step (6, s_six, SIX_EDGES, state, action), 0);
    cr_expect_eq (action [3], NORC_DAG_SKIP);
    cr_expect_eq (action [5], NORC_DAG_SKIP);
    cr_expect_eq (action [4], NORC_DAG_WAIT);
    //  1 succeeds: 4, on an independent branch, still runs
    state [1] = NORC_NODE_SUCCEEDED;
    state [3] = state [5] = NORC_NODE_SKIPPED;
    cr_expect_eq (norc_dag_step (6, s_six, SIX_EDGES, state, action), 0);
    cr_expect_eq (action [4], NORC_DAG_START);
    state [4] = NORC_NODE_SUCCEEDED;
    cr_expect_eq (norc_dag_step (6, s_six, SIX_EDGES, state, action), NORC_ST_FAILURE);
}

Test (norc_dag, a_failed_root_skips_everything_below_it_at_once)
{
    norc_node_state_t state [6] = { NORC_NODE_FAILED, NORC_NODE_FAILED };
    norc_dag_action_t action [6];
    cr_expect_eq (norc_dag_step (6, s_six, SIX_EDGES, state, action), NORC_ST_FAILURE);
    for (int n = 2; n < 6; n++)
        cr_expect_eq (action [n], NORC_DAG_SKIP, "node %d", n);
}

Test (norc_dag, an_empty_job_succeeds)
{
    cr_expect_eq (norc_dag_step (0, NULL, 0, NULL, NULL), NORC_ST_SUCCESS);
}

//  norc_dag.c - see norc_dag.h.
#include "norc_dag.h"
#include "norc_mem.h"

int
norc_dag_check (size_t nodes, const norc_dag_edge_t *edges, size_t edge_count, size_t *culprit)
{
    for (size_t e = 0; e < edge_count; e++)
        if (edges [e].parent >= nodes || edges [e].child >= nodes || edges [e].parent == edges [e].child) {
            if (culprit)
                *culprit = e;
            return NORC_ERROR;
        }
    //  Kahn: take nodes with no unvisited parent; what is left lies on or
    //  behind a cycle
    size_t *parents = (size_t *) norc_calloc (nodes ? nodes : 1, sizeof (size_t));
    size_t *ready = (size_t *) norc_calloc (nodes ? nodes : 1, sizeof (size_t));
    for (size_t e = 0; e < edge_count; e++)
        parents [edges [e].child]++;
    size_t head = 0, tail = 0;
    for (size_t n = 0; n < nodes; n++)
        if (parents [n] == 0)
            ready [tail++] = n;
    while (head < tail) {
        size_t n = ready [head++];
        for (size_t e = 0; e < edge_count; e++)
            if (edges [e].parent == n && --parents [edges [e].child] == 0)
                ready [tail++] = edges [e].child;
    }
    int rc = NORC_OK;
    if (tail < nodes) {
        //  Walk back through parents that are left until a node repeats:
        //  that node is on a cycle
        size_t n = 0;
        while (parents [n] == 0)
            n++;
        bool *seen = (bool *) norc_calloc (nodes, sizeof (bool));
        while (!seen [n]) {
            seen [n] = true;
            for (size_t e = 0; e < edge_count; e++)
                if (edges [e].child == n && parents [edges [e].parent] > 0) {
                    n = edges [e].parent;
                    break;
                }
        }
        free (seen);
        if (culprit)
            *culprit = n;
        rc = NORC_CONFLICT;
    }
    free (ready);
    free (parents);
    return rc;
}

int
norc_dag_step (size_t nodes, const norc_dag_edge_t *edges, size_t edge_count,
               const norc_node_state_t *state, norc_dag_action_t *action)
{
    for (size_t n = 0; n < nodes; n++)
        action [n] = NORC_DAG_WAIT;
    //  Skips spread down the graph until nothing changes (each pass marks
    //  at least one more node, so at most `nodes` passes)
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t e = 0; e < edge_count; e++) {
            size_t p = edges [e].parent, c = edges [e].child;
            bool parent_lost = state [p] == NORC_NODE_FAILED || state [p] == NORC_NODE_SKIPPED
                            || action [p] == NORC_DAG_SKIP;
            if (parent_lost && state [c] == NORC_NODE_MISSING && action [c] != NORC_DAG_SKIP) {
                action [c] = NORC_DAG_SKIP;
                changed = true;
            }
        }
    }
    bool *blocked = (bool *) norc_calloc (nodes ? nodes : 1, sizeof (bool));
    for (size_t e = 0; e < edge_count; e++)
        if (state [edges [e].parent] != NORC_NODE_SUCCEEDED)
            blocked [edges [e].child] = true;
    bool going = false, lost = false;
    for (size_t n = 0; n < nodes; n++) {
        if (state [n] == NORC_NODE_MISSING && action [n] != NORC_DAG_SKIP && !blocked [n])
            action [n] = NORC_DAG_START;
        if (state [n] == NORC_NODE_ACTIVE || action [n] == NORC_DAG_START)
            going = true;
        if (state [n] == NORC_NODE_FAILED || state [n] == NORC_NODE_SKIPPED || action [n] == NORC_DAG_SKIP)
            lost = true;
    }
    free (blocked);
    if (going)
        return 0;
    return lost ? NORC_ST_FAILURE : NORC_ST_SUCCESS;
}

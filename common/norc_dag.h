//  norc_dag.h - a job's graph: checking a definition (no cycle) and deciding,
//  from the state of each node in one run, which nodes start now, which are
//  skipped because an upstream node failed, and how the run ends.
//  Pure functions over node indexes: no I/O, no allocation by the caller.
#ifndef NORC_DAG_H_INCLUDED
#define NORC_DAG_H_INCLUDED
#include "norc.h"

typedef struct {
    size_t parent;              //  node index
    size_t child;               //  node index
} norc_dag_edge_t;

//  A node's state in one run of its job.
typedef enum {
    NORC_NODE_MISSING = 0,      //  no instance yet
    NORC_NODE_ACTIVE,           //  an instance waits or runs (or a retry waits)
    NORC_NODE_SUCCEEDED,
    NORC_NODE_FAILED,           //  ended in any other final status
    NORC_NODE_SKIPPED
} norc_node_state_t;

//  What to do with a node now.
typedef enum {
    NORC_DAG_WAIT = 0,          //  nothing (running, done, or parents not done)
    NORC_DAG_START,             //  every parent succeeded: create its instance
    NORC_DAG_SKIP               //  an ancestor failed: record it skipped
} norc_dag_action_t;

//  The most nodes and edges a job may have.
#define NORC_DAG_MAX_NODES 1000
#define NORC_DAG_MAX_EDGES 10000

//  NORC_OK when the graph has no cycle and every edge names real, distinct
//  nodes. NORC_CONFLICT when there is a cycle: *culprit is a node on it.
//  NORC_ERROR for an edge out of range or from a node to itself (*culprit
//  is that edge's index).
int
    norc_dag_check (size_t nodes, const norc_dag_edge_t *edges, size_t edge_count, size_t *culprit);

//  Decide each node's action from the states. Returns 0 while the run goes
//  on, or its end: NORC_ST_SUCCESS when every node succeeded, NORC_ST_FAILURE
//  when nothing is active or startable and some node failed or was skipped.
//  The graph must have passed norc_dag_check.
int
    norc_dag_step (size_t nodes, const norc_dag_edge_t *edges, size_t edge_count,
                   const norc_node_state_t *state, norc_dag_action_t *action);

#endif

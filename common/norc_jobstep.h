//  norc_jobstep.h - the decision of one step of a job run: from the job's
//  status, its clock and the state of each node, what happens now (nodes
//  started, skipped, cancelled or stopped; the job ended, and why). Pure:
//  no I/O; the store reads the state, calls this, and applies the
//  decision in the same transaction.
#ifndef NORC_JOBSTEP_H_INCLUDED
#define NORC_JOBSTEP_H_INCLUDED
#include "norc.h"
#include "norc_dag.h"

//  What happens to one node in this step
typedef enum {
    NORC_JOBSTEP_NONE = 0,      //  nothing (done, running, or waiting for its parents)
    NORC_JOBSTEP_START,         //  every parent succeeded: its instance is created, waiting
    NORC_JOBSTEP_SKIP,          //  it never runs: recorded SKIPPED with its reason
    NORC_JOBSTEP_CANCEL,        //  its instance waits on no executor: it ends KILLED with its reason
    NORC_JOBSTEP_STOP           //  its instance runs (or an executor holds it): it is to be killed
} norc_jobstep_do_t;

typedef struct {
    int status;                 //  the job run's status (RUNNING once started)
    norc_us_t started_at;       //  when it started
    norc_us_t now;
    int timeout_s;              //  0: none
    size_t node_count;
    const char *const *names;   //  each node's name
    const norc_dag_edge_t *edges;
    size_t edge_count;
    const norc_node_state_t *state;     //  each node's state
    const bool *waiting;        //  each node: ACTIVE, CREATED and on no executor (it can be cancelled)
} norc_jobstep_in_t;

typedef struct {
    int end;                    //  0, or the status the job ends with in this step
    char *reason;               //  why it ends (NULL for SUCCESS)
    norc_jobstep_do_t *what;    //  for each node
    char **why;                 //  for each node skipped or cancelled: its reason (else NULL)
} norc_jobstep_t;

//  Decide. A job past its timeout ends TIMEDOUT; otherwise the graph
//  decides (norc_dag_step): nodes start, nodes below a failed one are
//  skipped, the job ends SUCCESS or FAILURE (its reason names the failed
//  nodes) when nothing is left. A job that is over (TIMEDOUT now, or
//  ended before: killed) leaves nothing behind: nodes never started are
//  skipped, waiting ones cancelled, running ones stopped.
void
    norc_jobstep_decide (const norc_jobstep_in_t *in, norc_jobstep_t *out);

void
    norc_jobstep_clear (norc_jobstep_t *self, size_t node_count);

#endif

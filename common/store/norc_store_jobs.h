//  norc_store_jobs.h - the record's jobs: graphs of tasks, and the steps of a job run.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_JOBS_H_INCLUDED
#define NORC_STORE_JOBS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"
#include "norc_dag.h"
#include "norc_store_tasks.h"
#include "norc_store_instances.h"

//  Jobs. A job is a task of kind NORC_TASK_JOB whose nodes each run a
//  (command) task, with dependency edges between nodes.
typedef struct {
    uint64_t id;                //  job_nodes.id
    char *name;                 //  unique within its job
    uint64_t task_id;
    char *task;                 //  task name (read only)
} norc_job_node_t;

typedef struct {
    norc_job_node_t *nodes;
    size_t node_count;
    norc_dag_edge_t *edges;     //  node indexes
    size_t edge_count;
} norc_job_graph_t;

void norc_job_graph_clear (norc_job_graph_t *self);

//  Define a job: the task (kind set here; id set on success) with its nodes
//  (task_id of each set by the caller) and edges, checked by the caller
//  with norc_dag_check. NORC_CONFLICT when the name is taken.
int norc_store_job_add (norc_db_t *db, norc_task_t *job, const norc_job_graph_t *graph);
//  The graph of job task `job_id`, nodes in definition order.
int norc_store_job_get (norc_db_t *db, uint64_t job_id, norc_job_graph_t *graph);

//  What one step of a job run did (norc_store_job_advance).
typedef struct {
    int status;                 //  the job instance's status after the step
    bool started;               //  it went RUNNING in this step
    bool ended;                 //  it ended in this step
    norc_us_t started_at;
    int timeout_s;              //  the job's timeout, 0 for none
    char *reason;               //  why it ended, if it did (NULL for SUCCESS)
    norc_instance_t *created;   //  node instances created, waiting for an executor
    size_t created_count;
    norc_instance_t *closed;    //  node instances ended here: SKIPPED, or KILLED before starting
    size_t closed_count;
    uint64_t *stop;             //  running node instances of an ended job: to be killed
    size_t stop_count;
    uint64_t *active;           //  node instances waiting or running after the step
    size_t active_count;
} norc_job_step_t;

void norc_job_step_clear (norc_job_step_t *self);

//  One step of job instance `id`, in one transaction that locks its row:
//  a waiting job starts; nodes whose parents all succeeded get instances
//  on the job's queue; nodes downstream of a failed one are recorded
//  SKIPPED; when nothing is left to run the job ends SUCCESS or FAILURE
//  (its reason names the failed nodes). A job past its timeout (`now`
//  against its start) ends TIMEDOUT. An ended job's waiting nodes end
//  KILLED, the nodes never started are SKIPPED, and its running nodes are
//  listed in stop. Safe to run any number of times. NORC_NOTFOUND when
//  there is no such instance, NORC_CONFLICT when it is not a job's.
int norc_store_job_advance (norc_db_t *db, uint64_t id, norc_us_t now, norc_job_step_t *step);
//  Job instances started and not ended (ids, caller frees).
int norc_store_job_running (norc_db_t *db, uint64_t **ids, size_t *count);

#endif

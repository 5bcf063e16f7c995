//  Unit tests: one step of a job run, decided without a database
//  (table-driven: states in, actions and ending out).
#include <criterion/criterion.h>
#include "norc_jobstep.h"

#define M NORC_NODE_MISSING
#define A NORC_NODE_ACTIVE
#define S NORC_NODE_SUCCEEDED
#define F NORC_NODE_FAILED
#define K NORC_NODE_SKIPPED
#define _ NORC_JOBSTEP_NONE
#define START NORC_JOBSTEP_START
#define SKIP NORC_JOBSTEP_SKIP
#define CANCEL NORC_JOBSTEP_CANCEL
#define STOP NORC_JOBSTEP_STOP

//  The diamond: a -> b, a -> c, b -> d, c -> d
static const char *const s_names [] = { "a", "b", "c", "d" };
static const norc_dag_edge_t s_edges [] = { { 0, 1 }, { 0, 2 }, { 1, 3 }, { 2, 3 } };

typedef struct {
    const char *what;
    int status;                 //  the job's status before the step
    int elapsed_s;              //  since it started (its timeout is 60 s)
    norc_node_state_t state [4];
    bool waiting [4];
    int end;
    norc_jobstep_do_t expect [4];
    const char *reason;         //  a part of the job's reason, or NULL for none
    const char *why;            //  a part of the first skipped or cancelled node's reason
} s_case_t;

static const s_case_t s_cases [] = {
    { "a new run starts its root", NORC_ST_RUNNING, 0, { M, M, M, M }, { 0 }, 0, { START, _, _, _ }, NULL, NULL },
    { "the root succeeded: both branches", NORC_ST_RUNNING, 1, { S, M, M, M }, { 0 }, 0,
      { _, START, START, _ }, NULL, NULL },
    { "one branch done: the join waits", NORC_ST_RUNNING, 2, { S, S, A, M }, { 0 }, 0, { _, _, _, _ }, NULL, NULL },
    { "both done: the join starts", NORC_ST_RUNNING, 3, { S, S, S, M }, { 0 }, 0, { _, _, _, START }, NULL, NULL },
    { "all succeeded: SUCCESS", NORC_ST_RUNNING, 4, { S, S, S, S }, { 0 }, NORC_ST_SUCCESS, { _, _, _, _ }, NULL,
      NULL },
    { "a branch failed: the join is skipped, the other goes on", NORC_ST_RUNNING, 5, { S, F, A, M }, { 0 }, 0,
      { _, _, _, SKIP }, NULL, "upstream node \"b\"" },
    { "nothing left after a failure: FAILURE naming it", NORC_ST_RUNNING, 6, { S, F, S, K }, { 0 },
      NORC_ST_FAILURE, { _, _, _, _ }, "1 of 4 nodes failed: b", NULL },
    { "the root failed: everything below is skipped, and the job fails at once", NORC_ST_RUNNING, 1,
      { F, M, M, M }, { 0 }, NORC_ST_FAILURE, { _, SKIP, SKIP, SKIP }, "1 of 4 nodes failed: a",
      "upstream node \"a\"" },
    { "past its timeout: TIMEDOUT, waiting cancelled, running stopped, the rest skipped", NORC_ST_RUNNING, 60,
      { S, A, A, M }, { false, true, false, false }, NORC_ST_TIMEDOUT, { _, CANCEL, STOP, SKIP },
      "timed out after 60 s", "ended TIMEDOUT before this node ran" },
    { "killed before: what is left is ended, the job is not ended again", NORC_ST_KILLED, 3,
      { S, A, M, M }, { false, false, false, false }, 0, { _, STOP, SKIP, SKIP }, NULL, "ended KILLED" },
    { "already over and done: nothing", NORC_ST_SUCCESS, 90, { S, S, S, S }, { 0 }, 0, { _, _, _, _ }, NULL, NULL },
};

Test (norc_jobstep, each_step_of_the_diamond)
{
    norc_us_t start = 1000 * NORC_US_PER_SEC;
    for (size_t c = 0; c < sizeof s_cases / sizeof s_cases [0]; c++) {
        const s_case_t *t = &s_cases [c];
        norc_jobstep_in_t in = { t->status, start, start + (norc_us_t) t->elapsed_s * NORC_US_PER_SEC, 60, 4,
                                 s_names, s_edges, 4, t->state, t->waiting };
        norc_jobstep_t out;
        norc_jobstep_decide (&in, &out);
        cr_expect_eq (out.end, t->end, "%s: ends %d", t->what, out.end);
        const char *why = NULL;
        for (int k = 0; k < 4; k++) {
            cr_expect_eq (out.what [k], t->expect [k], "%s: node %s gets %d", t->what, s_names [k], out.what [k]);
            bool explained = out.what [k] == SKIP || out.what [k] == CANCEL;
            cr_expect_eq (out.why [k] != NULL, explained, "%s: node %s has a reason iff skipped or cancelled",
                          t->what, s_names [k]);
            if (explained && !why)
                why = out.why [k];
        }
        if (t->reason)
            cr_expect (out.reason && strstr (out.reason, t->reason), "%s: reason \"%s\"", t->what,
                       out.reason ? out.reason : "(none)");
        else
            cr_expect_null (out.reason, "%s: no reason", t->what);
        if (t->why)
            cr_expect (why && strstr (why, t->why), "%s: node reason \"%s\"", t->what, why ? why : "(none)");
        norc_jobstep_clear (&out, 4);
    }
}

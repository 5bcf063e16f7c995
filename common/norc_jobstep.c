//  norc_jobstep.c - see norc_jobstep.h
#include "norc_jobstep.h"
#include "norc_mem.h"

//  "N of M nodes failed: a, b"
static char *
s_failed (const norc_jobstep_in_t *in)
{
    char *names = norc_strdup ("");
    size_t failed = 0;
    for (size_t k = 0; k < in->node_count; k++)
        if (in->state [k] == NORC_NODE_FAILED) {
            char *more = norc_asprintf ("%s%s%s", names, failed ? ", " : "", in->names [k]);
            free (names);
            names = more;
            failed++;
        }
    char *reason = norc_asprintf ("%zu of %zu nodes failed: %s", failed, in->node_count, names);
    free (names);
    return reason;
}

void
norc_jobstep_decide (const norc_jobstep_in_t *in, norc_jobstep_t *out)
{
    size_t n = in->node_count;
    memset (out, 0, sizeof (*out));
    out->what = (norc_jobstep_do_t *) norc_calloc (n + 1, sizeof (norc_jobstep_do_t));
    out->why = (char **) norc_calloc (n + 1, sizeof (char *));
    int status = in->status;
    if (!NORC_STATUS_IS_FINAL (status) && in->timeout_s > 0
    &&  in->now - in->started_at >= (norc_us_t) in->timeout_s * NORC_US_PER_SEC) {
        out->end = NORC_ST_TIMEDOUT;
        out->reason = norc_asprintf ("the job timed out after %d s", in->timeout_s);
    }
    else
    if (!NORC_STATUS_IS_FINAL (status)) {
        norc_dag_action_t *action = (norc_dag_action_t *) norc_calloc (n + 1, sizeof (norc_dag_action_t));
        out->end = norc_dag_step (n, in->edges, in->edge_count, in->state, action);
        for (size_t k = 0; k < n; k++) {
            if (action [k] == NORC_DAG_START)
                out->what [k] = NORC_JOBSTEP_START;
            else
            if (action [k] == NORC_DAG_SKIP) {
                //  Name a parent that did not succeed
                const char *upstream = "?";
                for (size_t e = 0; e < in->edge_count; e++)
                    if (in->edges [e].child == k && in->state [in->edges [e].parent] != NORC_NODE_SUCCEEDED) {
                        upstream = in->names [in->edges [e].parent];
                        break;
                    }
                out->what [k] = NORC_JOBSTEP_SKIP;
                out->why [k] = norc_asprintf ("skipped: upstream node \"%s\" did not succeed", upstream);
            }
        }
        free (action);
        if (out->end == NORC_ST_FAILURE)
            out->reason = s_failed (in);
    }
    if (out->end)
        status = out->end;
    if (NORC_STATUS_IS_FINAL (status) && out->end != NORC_ST_SUCCESS && out->end != NORC_ST_FAILURE) {
        //  Over (timed out, or killed): nothing of it goes on
        const char *name = norc_status_name (status);
        for (size_t k = 0; k < n; k++) {
            norc_jobstep_do_t what = in->state [k] == NORC_NODE_MISSING ? NORC_JOBSTEP_SKIP
                                   : in->state [k] != NORC_NODE_ACTIVE ? NORC_JOBSTEP_NONE
                                   : in->waiting [k] ? NORC_JOBSTEP_CANCEL : NORC_JOBSTEP_STOP;
            out->what [k] = what;
            free (out->why [k]);
            out->why [k] = what == NORC_JOBSTEP_SKIP || what == NORC_JOBSTEP_CANCEL
                         ? norc_asprintf ("the job ended %s before this node ran", name ? name : "?") : NULL;
        }
    }
}

void
norc_jobstep_clear (norc_jobstep_t *self, size_t node_count)
{
    for (size_t k = 0; self->why && k < node_count; k++)
        free (self->why [k]);
    free (self->why);
    free (self->what);
    free (self->reason);
    memset (self, 0, sizeof (*self));
}

//  agg_wait.c - controls that wait (the control operation's wait): the
//  aggregator holds the reply, looks at each target's status in the record
//  every 100 ms, and answers once every target is where the request leads
//  (or has ended), or the wait is over (docs/operations.md).
#include "agg_internal.h"
#include "norc_store.h"
#include "norc_mem.h"

//  A control's reply held until its targets get where it leads
typedef struct {
    norc_msg_t *reply;          //  the API-REPLY, its routing id set
    int status;                 //  the state waited for
    norc_us_t deadline;         //  monotonic
} s_wait_t;

static void
s_wait_destroy (void **item)
{
    s_wait_t *wait = (s_wait_t *) *item;
    if (wait) {
        norc_msg_destroy (&wait->reply);
        free (wait);
        *item = NULL;
    }
}

zlistx_t *
agg_wait_list (void)
{
    zlistx_t *list = zlistx_new ();
    zlistx_set_destructor (list, s_wait_destroy);
    return list;
}

void
agg_wait_add (aggregator_t *self, norc_msg_t **reply_p, int status, int64_t wait_ms)
{
    s_wait_t *wait = (s_wait_t *) norc_calloc (1, sizeof *wait);
    wait->reply = *reply_p;
    *reply_p = NULL;
    wait->status = status;
    wait->deadline = norc_mono_us () + wait_ms * 1000;
    zlistx_add_end (self->waits, wait);
    agg_wait_check (self, false);
}

//  The controls that wait: each target's status from the record; a wait
//  whose targets are all there (or ended), or whose time is over (or every
//  one, when the aggregator stops), is answered with them
void
agg_wait_check (aggregator_t *self, bool all)
{
    norc_us_t now = norc_mono_us ();
    s_wait_t *wait = (s_wait_t *) zlistx_first (self->waits);
    while (wait) {
        norc_rows_t *rows = &wait->reply->api_reply.rows;
        bool done = true;
        for (size_t i = 0; i < rows->count; i++) {
            const char *id = norc_strmap_get (&rows->rows [i], "daemon_id");
            norc_daemon_t d = { 0 };
            int status = id && norc_store_daemon_get (self->db, strtoull (id, NULL, 10), &d) == NORC_OK ? d.status : 0;
            norc_daemon_clear (&d);
            char text [16];
            snprintf (text, sizeof text, "%d", status);
            norc_strmap_set (&rows->rows [i], "status", status ? text : "");
            norc_strmap_set (&rows->rows [i], "reached", status == wait->status ? "1" : "0");
            done &= status == wait->status || NORC_STATUS_IS_FINAL (status);
        }
        if (done || all || now >= wait->deadline) {
            norc_msg_send (&wait->reply, self->api);
            zlistx_delete (self->waits, zlistx_cursor (self->waits));
            wait = (s_wait_t *) zlistx_first (self->waits);
        }
        else
            wait = (s_wait_t *) zlistx_next (self->waits);
    }
}
int
agg_wait_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    aggregator_t *self = (aggregator_t *) arg;
    if (zlistx_size (self->waits))
        agg_wait_check (self, false);
    return 0;
}

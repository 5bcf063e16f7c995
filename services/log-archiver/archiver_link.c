//  archiver_link.c - see archiver_link.h.
#include "archiver_link.h"
#include "norc_link.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <unistd.h>

struct _archiver_link_t {
    norc_link_t *link;
    archiver_s3_t *s3;          //  not owned; NULL: nothing owed
    int status;
    char host [256];
};

static norc_link_outcome_t
s_control (void *arg, const norc_control_t *request)
{
    archiver_link_t *self = (archiver_link_t *) arg;
    if (request->instance_id)
        return (norc_link_outcome_t) { "a log-archiver runs no instance", self->status, false, false };
    if (request->request == NORC_REQ_STOP || request->request == NORC_REQ_KILL) {
        self->status = request->request == NORC_REQ_KILL ? NORC_ST_KILLED : NORC_ST_ENDED;
        return (norc_link_outcome_t) { NULL, self->status, true, true };
    }
    return (norc_link_outcome_t) { "a log-archiver takes STOP and KILL only", self->status, false, false };
}

static int
s_on_heartbeat (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    archiver_link_t *self = (archiver_link_t *) arg;
    norc_link_beat (self->link, self->status, self->s3 ? archiver_s3_backlog (self->s3) : 0, 0);
    return 0;
}

static int
s_handle_link (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    return norc_link_read (((archiver_link_t *) arg)->link);
}

archiver_link_t *
archiver_link_new (norc_config_t *config, zloop_t *loop, archiver_s3_t *s3)
{
    archiver_link_t *self = (archiver_link_t *) norc_calloc (1, sizeof (archiver_link_t));
    self->s3 = s3;
    self->status = NORC_ST_RUNNING;
    gethostname (self->host, sizeof self->host - 1);
    norc_link_spec_t spec = { .kind = "archiver", .host = self->host, .control = s_control, .arg = self };
    self->link = norc_link_new (config, &spec);
    if (!self->link || norc_link_register (self->link, 60) != NORC_OK) {
        archiver_link_destroy (&self);
        return NULL;
    }
    zloop_reader (loop, norc_link_socket (self->link), s_handle_link, self);
    zloop_timer (loop, (size_t) norc_config_int (config, "heartbeat.period_ms"), 0, s_on_heartbeat, self);
    norc_log_info ("archiver=%llu on %s", (unsigned long long) norc_link_id (self->link), self->host);
    s_on_heartbeat (loop, 0, self);
    return self;
}

void
archiver_link_destroy (archiver_link_t **self_p)
{
    archiver_link_t *self = *self_p;
    if (!self)
        return;
    if (self->link && norc_link_id (self->link)) {
        if (self->status == NORC_ST_RUNNING) {
            self->status = NORC_ST_ENDED;
            norc_link_status (self->link, self->status, "stopped");
        }
        norc_link_flush (self->link, 2000);
    }
    norc_link_destroy (&self->link);
    free (self);
    *self_p = NULL;
}

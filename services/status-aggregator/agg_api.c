//  agg_api.c - the operations norcctl asks for: one table of operations
//  (each in its part: agg_api_defs.c, agg_api_schedules.c, agg_api_runs.c,
//  and daemons and control requests here), the argument checks they share,
//  and the answer when the database is out of reach. Every refusal is one
//  line that names what is wrong ("unknown queue \"Q\"").
#include "agg_api_internal.h"
#include "norc_api.h"
#include "norc_api_json.h"
#include "norc_authz.h"
#include "norc_store.h"
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <ctype.h>
#include <errno.h>
#include <unistd.h>

void
agg_reply_error (norc_api_reply_t *reply, int code, const char *fmt, ...)
{
    char text [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    reply->code = code;
    free (reply->error);
    reply->error = norc_strdup (text);
}

//  A store failure that is not the caller's fault
void
agg_reply_store (agg_api_t *self, norc_api_reply_t *reply, int rc, const char *what)
{
    int64_t down_ms = norc_db_down_ms (self->db);
    if (rc == NORC_AGAIN && down_ms)
        agg_reply_error (reply, rc, "%s: the database is unavailable (for %lld s): %s", what,
                       (long long) (down_ms + 999) / 1000, norc_db_errstr (self->db));
    else
    if (rc == NORC_AGAIN)
        agg_reply_error (reply, rc, "%s: the database is unavailable (%s)", what, norc_db_errstr (self->db));
    else
        agg_reply_error (reply, rc, "%s: %s", what, norc_db_errstr (self->db));
}

const char *
agg_arg (const norc_strmap_t *args, const char *key)
{
    const char *value = norc_strmap_get (args, key);
    return value && *value ? value : NULL;
}

//  Parse an optional non-negative integer argument. false on a bad value
//  (the reply is filled).
bool
agg_arg_int (const norc_strmap_t *args, const char *key, int64_t deflt, int64_t max,
           int64_t *value, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, key);
    if (!text) {
        *value = deflt;
        return true;
    }
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < 0 || v > max) {
        agg_reply_error (reply, NORC_ERROR, "bad %s \"%s\": expected a whole number from 0 to %lld",
                       key, text, (long long) max);
        return false;
    }
    *value = v;
    return true;
}

//  An optional size (digits with an optional K, M, G or T suffix), up to
//  max bytes. false on a bad value (the reply is filled).
bool
agg_arg_size (const norc_strmap_t *args, const char *key, int64_t max, int64_t *value, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, key);
    *value = 0;
    if (text && (norc_size_parse (text, value) != NORC_OK || *value > max)) {
        agg_reply_error (reply, NORC_ERROR, "bad %s \"%s\": expected a size from 0 to %lld bytes, in bytes "
                       "or with K, M, G or T (e.g. 64M)", key, text, (long long) max);
        return false;
    }
    return true;
}

bool
agg_arg_flag (const norc_strmap_t *args, const char *key)
{
    const char *text = agg_arg (args, key);
    return text && (strcmp (text, "1") == 0 || strcmp (text, "true") == 0 || strcmp (text, "yes") == 0);
}

bool
agg_valid_name (const char *name, norc_api_reply_t *reply, const char *what)
{
    if (!name) {
        agg_reply_error (reply, NORC_ERROR, "a %s name is required", what);
        return false;
    }
    size_t n = strlen (name);
    bool ok = n <= 64 && name [0] != '#';
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum ((unsigned char) name [i]) || strchr ("_-.:@", name [i]);
    if (!ok)
        agg_reply_error (reply, NORC_ERROR, "bad %s name \"%.80s\": use up to 64 letters, digits "
                       "and _ - . : @, not starting with #", what, name);
    return ok;
}

void
agg_api_publish (zsock_t *stream, norc_msg_t **event_p, const char *topic)
{
    norc_msg_t *event = *event_p;
    if (event->id == NORC_MSG_EVENT) {
        free (event->event.topic);
        event->event.topic = norc_strdup (topic);
        if (!event->event.time_us)
            event->event.time_us = norc_now_us ();
    }
    norc_msg_publish (event_p, stream, topic);
}

void
agg_api_notify_schedule (zsock_t *stream, uint64_t id, const char *op)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SCHEDULE_CHANGED);
    msg->schedule_changed.schedule_id = id;
    msg->schedule_changed.op = norc_strdup (op);
    norc_msg_publish (&msg, stream, "schedule.changed");
}

void
agg_notify_schedule (agg_api_t *self, uint64_t id, const char *op)
{
    agg_api_notify_schedule (self->stream, id, op);
}

//  When no live executor takes work from the queue, a warning in the
//  reply's first row (norcctl prints it): the work would wait unseen.
void
agg_warn_unserved (agg_api_t *self, const norc_queue_t *queue, norc_api_reply_t *reply)
{
    int64_t servers = 1;
    if (norc_store_queue_servers (self->db, queue->id, norc_now_us () - self->alive_ms * 1000, &servers) == NORC_OK
    &&  servers == 0 && reply->rows.count) {
        char *text = norc_asprintf ("no live executor serves queue %s: it waits until one does "
                                    "(start one with: norc-executor %s -c N)", queue->name, queue->name);
        norc_strmap_set (&reply->rows.rows [0], "warning", text);
        free (text);
    }
}

void
agg_row_u64 (norc_api_reply_t *reply, const char *key, uint64_t value)
{
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) value);
    norc_strmap_set (norc_rows_add (&reply->rows), key, text);
}

//  The queue must exist and accept pushes (not a group).
bool
agg_push_queue (agg_api_t *self, const char *name, norc_queue_t *queue, norc_api_reply_t *reply)
{
    if (!name) {
        agg_reply_error (reply, NORC_ERROR, "a queue is required (--queue)");
        return false;
    }
    int rc = norc_store_queue_get (self->db, name, queue);
    if (rc == NORC_NOTFOUND) {
        agg_reply_error (reply, rc, "unknown queue \"%s\"", name);
        return false;
    }
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot read the queue");
        return false;
    }
    if (queue->kind == NORC_QUEUE_GROUP) {
        agg_reply_error (reply, NORC_CONFLICT, "\"%s\" is a queue group: work is pushed to a queue, "
                       "groups only serve executors", name);
        return false;
    }
    return true;
}

bool
agg_live_task (agg_api_t *self, const char *name, norc_task_t *task, norc_api_reply_t *reply)
{
    if (!name) {
        agg_reply_error (reply, NORC_ERROR, "a task is required");
        return false;
    }
    int rc = norc_store_task_get (self->db, name, task);
    if (rc == NORC_NOTFOUND || (rc == NORC_OK && task->deleted_at)) {
        agg_reply_error (reply, NORC_NOTFOUND, "unknown task \"%s\"", name);
        return false;
    }
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot read the task");
        return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Daemons: registration and control requests

static void
agg_op_daemon_register (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *kind = agg_arg (args, "kind");
    const char *host = agg_arg (args, "host");
    int64_t pid, concurrency;
    if (!agg_arg_int (args, "pid", 0, INT32_MAX, &pid, reply)
    ||  !agg_arg_int (args, "concurrency", 0, 100000, &concurrency, reply))
        return;
    //  Under CURVE a service registers only as what its key's role says
    //  (and, when it does not say, as that)
    bool curve = self->who.kind != NORC_PRINCIPAL_ANONYMOUS;
    if (!kind)
        kind = curve && (self->who.roles & NORC_ROLE_SCHEDULER) ? "scheduler"
             : curve && (self->who.roles & NORC_ROLE_BRIDGE) ? "bridge"
             : curve && (self->who.roles & NORC_ROLE_ARCHIVER) ? "archiver" : "executor";
    norc_daemon_t daemon = { 0 };
    daemon.kind = norc_enum_code (&norc_enum_daemon_kind, kind);
    if (daemon.kind < 0) {
        agg_reply_error (reply, NORC_ERROR, "bad daemon kind \"%s\": scheduler, executor, bridge or archiver", kind);
        return;
    }
    //  (a bridge registers the executors of its disconnected sites)
    if (curve && !(self->who.roles & norc_roles_of_service (kind))
    &&  !(daemon.kind == NORC_DAEMON_EXECUTOR && (self->who.roles & NORC_ROLE_BRIDGE))) {
        agg_reply_error (reply, NORC_DENIED, "this key's roles do not include %s", kind);
        return;
    }
    daemon.host = (char *) (host ? host : "?");
    daemon.pid = (int) pid;
    daemon.concurrency = (int) concurrency;
    const char *queue_name = agg_arg (args, "queue");
    if (daemon.kind == NORC_DAEMON_EXECUTOR || daemon.kind == NORC_DAEMON_BRIDGE) {
        norc_queue_t queue = { 0 };
        int rc = queue_name ? norc_store_queue_get (self->db, queue_name, &queue) : NORC_NOTFOUND;
        if (rc == NORC_NOTFOUND) {
            agg_reply_error (reply, rc, "unknown queue \"%s\"", queue_name ? queue_name : "");
            return;
        }
        if (rc) {
            agg_reply_store (self, reply, rc, "cannot read the queue");
            return;
        }
        bool sqs = queue.kind == NORC_QUEUE_SQS;
        daemon.queue_id = queue.id;
        norc_queue_clear (&queue);
        if (daemon.kind == NORC_DAEMON_BRIDGE && !sqs) {
            agg_reply_error (reply, NORC_CONFLICT, "queue \"%s\" is not an sqs queue: a bridge carries only those",
                             queue_name);
            return;
        }
    }
    int rc = norc_store_daemon_register (self->db, &daemon);
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot register");
        return;
    }
    agg_row_u64 (reply, "id", daemon.id);
}

//  Why a request cannot apply to a daemon now, or NULL when it can.
static const char *
s_refusal (const norc_daemon_t *d, int request)
{
    bool scheduler = d->kind == NORC_DAEMON_SCHEDULER;
    if (NORC_STATUS_IS_FINAL (d->status))
        return "it has already ended";
    //  (a log-archiver that paused would hold up every executor's logs)
    if (d->kind == NORC_DAEMON_ARCHIVER && request != NORC_REQ_STOP && request != NORC_REQ_KILL)
        return "a log-archiver takes STOP and KILL only";
    if (request == NORC_REQ_RELOAD && !scheduler)
        return "RELOAD is for schedulers only";
    if (request == NORC_REQ_RESUME && d->status != NORC_ST_PAUSED
    &&  !(d->status == NORC_ST_SUSPENDED && !scheduler))
        return "RESUME needs a PAUSED (or, for an executor, SUSPENDED) daemon";
    if (request == NORC_REQ_PAUSE && d->status == NORC_ST_PAUSED)
        return "it is already PAUSED";
    if (request == NORC_REQ_PAUSE && d->status == NORC_ST_STOPPING)
        return "it is STOPPING";
    return NULL;
}

static void
s_control_one (agg_api_t *self, uint64_t daemon_id, int request, const char *by, bool host_mode,
               norc_api_reply_t *reply)
{
    norc_daemon_t d = { 0 };
    int rc = norc_store_daemon_get (self->db, daemon_id, &d);
    if (rc) {
        if (!host_mode)
            agg_reply_error (reply, rc, rc == NORC_NOTFOUND ? "unknown daemon %llu" : "cannot read daemon %llu",
                           (unsigned long long) daemon_id);
        norc_daemon_clear (&d);
        return;
    }
    const char *kind = norc_enum_name (&norc_enum_daemon_kind, d.kind);
    norc_strmap_t *row = NULL;
    char text [64];
    if (request == NORC_REQ_HANDLE) {
        rc = norc_store_daemon_handle (self->db, daemon_id, by, norc_now_us () - self->alive_ms * 1000);
        if (rc == NORC_CONFLICT && !host_mode)
            agg_reply_error (reply, rc, "%s %llu is alive or not in an error state: nothing to handle", kind,
                           (unsigned long long) daemon_id);
        else
        if (rc && !host_mode)
            agg_reply_store (self, reply, rc, "cannot handle");
        else
        if (rc == NORC_OK) {
            row = norc_rows_add (&reply->rows);
            norc_strmap_set (row, "outcome", "handled");
        }
    }
    else {
        const char *why = s_refusal (&d, request);
        if (why) {
            if (!host_mode)
                agg_reply_error (reply, NORC_CONFLICT, "%s %llu refused %s: %s", kind,
                               (unsigned long long) daemon_id, norc_request_name (request), why);
        }
        else {
            uint64_t request_id = 0;
            rc = norc_store_control_add (self->db, daemon_id, request, by, &request_id);
            if (rc)
                agg_reply_store (self, reply, rc, "cannot store the request");
            else {
                bool sent = self->deliver && self->deliver (self->owner, daemon_id, request_id, request, by, 0);
                if (sent)
                    norc_store_control_mark (self->db, request_id, NORC_CONTROL_DELIVERED, NULL);
                row = norc_rows_add (&reply->rows);
                norc_strmap_set (row, "outcome", sent ? "sent" : "stored, delivered when it reconnects");
                snprintf (text, sizeof text, "%llu", (unsigned long long) request_id);
                norc_strmap_set (row, "request_id", text);
            }
        }
    }
    if (row) {
        norc_strmap_set (row, "kind", kind);
        snprintf (text, sizeof text, "%llu", (unsigned long long) daemon_id);
        norc_strmap_set (row, "daemon_id", text);
        norc_strmap_set (row, "host", d.host ? d.host : "");
        norc_strmap_set (row, "request", norc_request_name (request));
    }
    norc_daemon_clear (&d);
}

static void
agg_op_control (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    int request = norc_request_code (agg_arg (args, "request"));
    if (request < 0) {
        agg_reply_error (reply, NORC_ERROR, "bad request \"%s\": use stop, kill, pause, resume, reload or handle",
                       agg_arg (args, "request") ? agg_arg (args, "request") : "");
        return;
    }
    int64_t wait_s;
    if (!agg_arg_int (args, "wait", 0, 300, &wait_s, reply))
        return;
    //  The state each request leads to: what a wait waits for
    static const int leads_to [] = {
        [NORC_REQ_STOP] = NORC_ST_ENDED, [NORC_REQ_KILL] = NORC_ST_KILLED,
        [NORC_REQ_PAUSE] = NORC_ST_PAUSED, [NORC_REQ_RESUME] = NORC_ST_RUNNING,
    };
    if (wait_s && ((size_t) request >= sizeof leads_to / sizeof leads_to [0] || !leads_to [request])) {
        agg_reply_error (reply, NORC_ERROR, "%s leads to no state to wait for: leave out wait",
                         norc_request_name (request));
        return;
    }
    self->wait_ms = wait_s * 1000;
    self->wait_status = wait_s ? leads_to [request] : 0;
    const char *by = agg_arg (args, "by") ? agg_arg (args, "by") : "norcctl";
    const char *host = agg_arg (args, "host");
    if (host) {
        if (request == NORC_REQ_HANDLE) {
            agg_reply_error (reply, NORC_ERROR, "handle takes one daemon, not a host");
            return;
        }
        norc_rows_t daemons = { 0 };
        int rc = norc_store_daemon_list (self->db, 0, norc_now_us (), 0, &daemons);
        if (rc) {
            agg_reply_store (self, reply, rc, "cannot list daemons");
            return;
        }
        for (size_t i = 0; i < daemons.count; i++) {
            const char *h = norc_strmap_get (&daemons.rows [i], "host");
            const char *status = norc_strmap_get (&daemons.rows [i], "status");
            if (h && strcmp (h, host) == 0 && status && atoi (status) < 7)
                s_control_one (self, strtoull (norc_strmap_get (&daemons.rows [i], "id"), NULL, 10),
                               request, by, true, reply);
        }
        norc_rows_clear (&daemons);
        if (reply->code == NORC_OK && reply->rows.count == 0)
            agg_reply_error (reply, NORC_NOTFOUND, "no running daemon on host \"%s\" accepts %s", host,
                           norc_request_name (request));
        return;
    }
    const char *id_text = agg_arg (args, "daemon");
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, id_text ? "\"%s\" is not a daemon id (a number from 1)"
                                                  : "a daemon id or --host is required", id_text);
        return;
    }
    s_control_one (self, id, request, by, false, reply);
}

static void
agg_op_daemon_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *id_text = agg_arg (args, "id");
    norc_daemon_t d = { 0 };
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "\"%s\" is not a daemon id (a number from 1)", id_text ? id_text : "");
        return;
    }
    int rc = norc_store_daemon_get (self->db, id, &d);
    if (rc) {
        agg_reply_error (reply, rc, "unknown daemon %s", id_text ? id_text : "");
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) d.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "kind", norc_enum_name (&norc_enum_daemon_kind, d.kind));
    norc_strmap_set (row, "host", d.host ? d.host : "");
    snprintf (text, sizeof text, "%d", d.status);
    norc_strmap_set (row, "status", text);
    norc_strmap_set (row, "queue", d.queue ? d.queue : "");
    norc_daemon_clear (&d);
}

//  Who the caller is, as the registry says
static void
agg_op_whoami (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char roles [256];
    norc_roles_format (self->who.roles, roles, sizeof roles);
    norc_strmap_set (row, "name", self->who.name);
    norc_strmap_set (row, "fingerprint", self->who.fingerprint);
    const char *kind = norc_enum_name (&norc_enum_principal_kind, self->who.kind);
    norc_strmap_set (row, "kind", kind ? kind : "anonymous");
    norc_strmap_set (row, "roles", roles);
}

//  Each operation's handler, from proto/norc_api.xml
static const struct { const char *op; agg_op_fn *fn; } s_ops [] = {
#include "agg_api_ops.inc"
};

bool
agg_api_run_op (agg_api_t *self, const char *op, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    for (size_t i = 0; i < sizeof s_ops / sizeof s_ops [0]; i++)
        if (op && strcmp (op, s_ops [i].op) == 0) {
            s_ops [i].fn (self, args, reply);
            return true;
        }
    return false;
}

//  A request that presents a credential: from a front end (under CURVE,
//  a principal with the web role), for the person whose credential it is.
//  false when it cannot be served so (the reply is filled).
static bool
s_as_credential (agg_api_t *self, norc_api_request_t *request, norc_api_reply_t *reply)
{
    const char *why = NULL;
    norc_zap_who_t sender;
    if (norc_zap_curve () && !norc_zap_allows (self->user_id, NORC_ROLE_WEB, &sender, &why)) {
        agg_reply_error (reply, NORC_DENIED, "denied: %s may not present a credential (only a front end with "
                         "the web role does)", sender.name);
        return false;
    }
    if (self->db && norc_db_down_ms (self->db)) {
        agg_reply_error (reply, NORC_AGAIN, "the credential cannot be checked: the database is unavailable");
        return false;
    }
    int rc = agg_api_credential (self, request->credential, &self->who, &why);
    if (rc) {
        agg_reply_error (reply, rc, "%s", why);
        return false;
    }
    norc_strmap_set (&request->args, "by", self->who.name);
    return true;
}

void
agg_api_handle (agg_api_t *self, norc_api_request_t *request, norc_api_reply_t *reply)
{
    reply->request_id = request->request_id;
    reply->code = NORC_OK;
    //  Who asks, and whether their roles allow this operation: by the key
    //  the connection was admitted with, or the credential a front end
    //  presents for the person it serves; never by anything else in the
    //  request
    const char *why = NULL;
    bool credential = request->credential && *request->credential;
    if (credential && !s_as_credential (self, request, reply))
        return;
    bool allowed = credential
                 ? norc_roles_allow (self->who.kind, self->who.roles, norc_authz_op (request->op))
                 : norc_zap_allows (self->user_id, norc_authz_op (request->op), &self->who, &why);
    if (credential && !allowed)
        why = "its roles do not allow it";
    if (!allowed) {
        char roles [256];
        norc_roles_format (norc_roles_effective (self->who.kind, self->who.roles), roles, sizeof roles);
        agg_reply_error (reply, NORC_DENIED, "denied: %s may not %s (%s; roles: %s)", self->who.name,
                         request->op ? request->op : "?", why, *roles ? roles : "none");
        agg_audit_record (self, request, reply, NULL);
        return;
    }
    //  The database out of reach: an answer at once, from what is known
    //  without it where that is something, else the outage and its length
    int64_t down_ms = self->db ? norc_db_down_ms (self->db) : 0;
    if (down_ms && norc_mono_us () - self->probed_at >= NORC_US_PER_SEC) {
        //  At most once a second a request tries (once): the way back
        self->probed_at = norc_mono_us ();
        down_ms = 0;
    }
    int kind = !request->op ? 0 : strcmp (request->op, "status.executors") == 0 ? NORC_DAEMON_EXECUTOR
             : strcmp (request->op, "status.schedulers") == 0 ? NORC_DAEMON_SCHEDULER
             : strcmp (request->op, "status.bridges") == 0 ? NORC_DAEMON_BRIDGE
             : strcmp (request->op, "status.archivers") == 0 ? NORC_DAEMON_ARCHIVER : 0;
    if (down_ms && self->daemons && kind) {
        self->daemons (self->owner, kind, &reply->rows);
        char *text = norc_asprintf ("the database is unavailable (for %lld s): the daemons heard from lately, "
                                    "from the aggregator's memory", (long long) (down_ms + 999) / 1000);
        if (!reply->rows.count)
            norc_rows_add (&reply->rows);
        norc_strmap_set (&reply->rows.rows [0], "warning", text);
        free (text);
        return;
    }
    if (down_ms) {
        agg_reply_error (reply, NORC_AGAIN, "the database is unavailable (for %lld s): %s",
                       (long long) (down_ms + 999) / 1000, norc_db_errstr (self->db));
        return;
    }
    //  An argument the operation does not take is refused, not ignored: a
    //  misspelt one would otherwise go unnoticed
    //  (a change refused so is audited as failed, as any other)
    const norc_api_op_t *known = norc_api_op (request->op);
    bool change = agg_audit_is_change (request->op);
    for (size_t i = 0; known && i < request->args.count; i++) {
        const char *key = request->args.keys [i], *value = request->args.values [i];
        const norc_api_arg_t *arg = norc_api_arg (known, key);
        if (!norc_api_takes (known, key))
            agg_reply_error (reply, NORC_ERROR, "%s takes no argument \"%s\" (docs/api.md)", request->op, key);
        else
        //  A number, within what the schema says it takes
        if (arg && arg->type == NORC_API_INT) {
            char *end = NULL;
            errno = 0;
            long long v = strtoll (value, &end, 10);
            if (*value && (errno || *end || v < arg->min || v > arg->max))
                agg_reply_error (reply, NORC_ERROR, "bad %s \"%.64s\": a whole number from %lld to %lld", key, value,
                                 (long long) arg->min, (long long) arg->max);
        }
        if (reply->code != NORC_OK) {
            if (change)
                agg_audit_record (self, request, reply, NULL);
            return;
        }
    }
    //  A change is audited, with the state of its target before and after
    char *before = change ? agg_audit_state (self, request->op, &request->args, NULL) : NULL;
    if (!agg_api_run_op (self, request->op, &request->args, reply)) {
        agg_reply_error (reply, NORC_ERROR, "unknown operation \"%s\"", request->op ? request->op : "");
        change = false;
    }
    if (change)
        agg_audit_record (self, request, reply, before);
    free (before);
#ifndef NDEBUG
    //  Debug builds (the sanitizer run of every test) hold every reply to
    //  the schema: a column it does not declare, or a value not of its
    //  column's type, stops the aggregator there
    for (size_t r = 0; known && reply->code == NORC_OK && r < reply->rows.count; r++) {
        char mismatch [256];
        if (!norc_api_row_check (known, &reply->rows.rows [r], mismatch, sizeof mismatch)) {
            norc_log_error ("the reply does not match proto/norc_api.xml: %s", mismatch);
            abort ();
        }
    }
#endif
}

//  agg_api_audit.c - the audit of the API: every operation that changes
//  something is recorded (common/store/store_audit.c) with who asked,
//  from where, what and on what, the outcome and its reason, and the
//  target's state before and after, then published on the stream as
//  "audit.VERB". Reads are not recorded. audit.list and audit.verify read
//  the record back.
#include "agg_api_internal.h"
#include "norc_api.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"

//  Whether an operation changes something (proto/norc_api.xml); one Norc
//  does not know changes nothing
bool
agg_audit_is_change (const char *op)
{
    const norc_api_op_t *known = norc_api_op (op);
    return known && known->change;
}

//  What shows a change's target: the show operation and the argument that
//  names the target (NULL: the target is the id in the operation's reply)
static const struct { const char *op, *show, *key; } s_shows [] = {
    { "task.add", "task.show", "name" },         { "task.rm", "task.show", "name" },
    { "job.add", "job.show", "name" },
    { "schedule.add", "schedule.show", NULL },   { "schedule.rm", "schedule.show", "id" },
    { "schedule.pause", "schedule.show", "id" }, { "schedule.resume", "schedule.show", "id" },
    { "run", "instance.show", NULL },            { "instance.kill", "instance.show", "id" },
    { "instance.handle", "instance.show", "id" }, { "instance.rerun", "instance.show", "id" },
    { "control", "daemon.show", "daemon" },
};

//  JSON text of one row (every value a string)
static char *
s_json (const norc_strmap_t *row)
{
    size_t cap = 64, len = 0;
    for (size_t k = 0; k < row->count; k++)
        cap += 8 + 6 * (strlen (row->keys [k]) + strlen (row->values [k]));
    char *out = (char *) norc_malloc (cap);
    out [len++] = '{';
    for (size_t k = 0; k < row->count; k++) {
        const char *parts [2] = { row->keys [k], row->values [k] };
        for (int p = 0; p < 2; p++) {
            len += (size_t) snprintf (out + len, cap - len, "%s\"", p ? ": " : k ? ", " : "");
            for (const unsigned char *c = (const unsigned char *) parts [p]; *c; c++)
                if (*c == '"' || *c == '\\')
                    len += (size_t) snprintf (out + len, cap - len, "\\%c", *c);
                else
                if (*c < 0x20)
                    len += (size_t) snprintf (out + len, cap - len, "\\u%04x", *c);
                else
                    out [len++] = (char) *c;
            out [len++] = '"';
        }
    }
    out [len++] = '}';
    out [len] = 0;
    return out;
}

char *
agg_audit_state (agg_api_t *self, const char *op, const norc_strmap_t *args, const norc_api_reply_t *reply)
{
    for (size_t i = 0; op && i < sizeof s_shows / sizeof s_shows [0]; i++) {
        if (strcmp (op, s_shows [i].op) != 0)
            continue;
        const char *target = s_shows [i].key ? agg_arg (args, s_shows [i].key)
                           : reply && reply->rows.count ? norc_strmap_get (&reply->rows.rows [0], "id") : NULL;
        if (!target)
            return NULL;
        norc_strmap_t show_args = { 0 };
        norc_strmap_set (&show_args, s_shows [i].key ? s_shows [i].key : "id", target);
        norc_api_reply_t shown = { 0 };
        agg_api_run_op (self, s_shows [i].show, &show_args, &shown);
        char *state = shown.code == NORC_OK && shown.rows.count ? s_json (&shown.rows.rows [0]) : NULL;
        norc_strmap_clear (&show_args);
        free (shown.error);
        norc_rows_clear (&shown.rows);
        return state;
    }
    return NULL;
}

//  What a change was done to: the first argument that names a target
static const char *
s_target (const norc_api_request_t *request, const norc_api_reply_t *reply)
{
    const char *keys [] = { "name", "id", "daemon", "host", "task", "ref" };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++) {
        const char *value = agg_arg (&request->args, keys [i]);
        if (value)
            return value;
    }
    const char *made = reply->code == NORC_OK && reply->rows.count
                     ? norc_strmap_get (&reply->rows.rows [0], "id") : NULL;
    return made ? made : "";
}

void
agg_audit_record (agg_api_t *self, const norc_api_request_t *request, const norc_api_reply_t *reply,
                  const char *before)
{
    char *after = reply->code == NORC_OK ? agg_audit_state (self, request->op, &request->args, reply) : NULL;
    //  Who: the principal of the key the request came with (docs/security.md)
    norc_audit_entry_t entry = {
        .principal = self->who.name, .key_fingerprint = self->who.fingerprint,
        .source = self->peer ? self->peer : "", .verb = request->op ? request->op : "",
        .target = s_target (request, reply),
        .outcome = reply->code == NORC_OK ? NORC_AUDIT_ACCEPTED
                 : reply->code == NORC_DENIED ? NORC_AUDIT_DENIED : NORC_AUDIT_FAILED,
        .reason = reply->code == NORC_OK ? "" : reply->error ? reply->error : "",
        .before = before, .after = after
    };
    uint64_t id = 0;
    char hash [65] = "";
    int rc = norc_store_audit_append (self->db, &entry, &id, hash);
    if (rc)
        norc_log_warnx ("audit: cannot record %s on \"%s\": %s", request->op, entry.target, norc_db_errstr (self->db));
    else
    if (self->stream) {
        norc_strmap_t row = { 0 };
        char text [32];
        snprintf (text, sizeof text, "%llu", (unsigned long long) id);
        norc_strmap_set (&row, "id", text);
        norc_strmap_set (&row, "principal", entry.principal);
        norc_strmap_set (&row, "source", entry.source);
        norc_strmap_set (&row, "verb", entry.verb);
        norc_strmap_set (&row, "target", entry.target);
        norc_strmap_set (&row, "key_fingerprint", entry.key_fingerprint);
        norc_strmap_set (&row, "outcome", norc_enum_name (&norc_enum_audit_outcome, (int) entry.outcome));
        norc_strmap_set (&row, "reason", entry.reason);
        norc_strmap_set (&row, "hash", hash);
        norc_msg_t *event = norc_msg_new (NORC_MSG_EVENT);
        event->event.detail = s_json (&row);
        char *topic = norc_asprintf ("audit.%s", entry.verb);
        agg_api_publish (self->stream, &event, topic);
        free (topic);
        norc_strmap_clear (&row);
    }
    free (after);
}

void
agg_op_audit_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    int64_t limit;
    if (!agg_arg_int (args, "limit", 50, 100000, &limit, reply))
        return;
    uint64_t before = 0;
    const char *text = agg_arg (args, "before");
    if (text && norc_id_parse (text, &before) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "bad before \"%s\": a record's id (the last of the page before)", text);
        return;
    }
    int rc = norc_store_audit_list (self->db, before, limit, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the audit");
}

void
agg_op_audit_verify (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    uint64_t count = 0, broken = 0;
    int rc = norc_store_audit_verify (self->db, &count, &broken);
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot read the audit");
        return;
    }
    if (broken) {
        agg_reply_error (reply, NORC_CONFLICT, "the audit chain breaks at row %llu of %llu: that row, or the one "
                         "before it, was edited, removed or put there", (unsigned long long) broken,
                         (unsigned long long) count);
        return;
    }
    agg_row_u64 (reply, "rows", count);
}

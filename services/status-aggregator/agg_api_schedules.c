//  agg_api_schedules.c - schedules: add (with a time zone, catch-up and
//  concurrency policy), list, show, remove, pause, resume, and a schedule's
//  tick ledger.
#include "agg_api_internal.h"
#include "norc_store.h"
#include "norc_cron.h"
#include "norc_timing.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <ctype.h>
#include <errno.h>

//  --------------------------------------------------------------------------
//  Schedules

void
agg_op_schedule_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_task_t task = { 0 };
    norc_queue_t queue = { 0 };
    norc_schedule_t s = { 0 };
    norc_cron_t *cron = NULL;
    if (!agg_live_task (self, agg_arg (args, "task"), &task, reply)
    ||  !agg_push_queue (self, agg_arg (args, "queue"), &queue, reply))
        goto done;
    const char *cron_text = agg_arg (args, "cron");
    const char *period_text = agg_arg (args, "period");
    if (!!cron_text == !!period_text) {
        agg_reply_error (reply, NORC_ERROR, "give exactly one of --period SECONDS or --cron EXPR");
        goto done;
    }
    int64_t period, reps, window, deadline;
    if (!agg_arg_int (args, "period", 0, INT64_C (3153600000), &period, reply)
    ||  !agg_arg_int (args, "reps", 0, UINT32_MAX, &reps, reply)
    ||  !agg_arg_int (args, "window", 0, 86400 * 365, &window, reply)
    ||  !agg_arg_int (args, "deadline", 0, 86400 * 365, &deadline, reply))
        goto done;
    if (period_text && period < 1) {
        agg_reply_error (reply, NORC_ERROR, "the period must be 1 second or more");
        goto done;
    }
    s.task_id = task.id;
    s.queue_id = queue.id;
    s.repetitions = reps;
    s.start = norc_now_us ();
    const char *start = agg_arg (args, "start");
    if (start && norc_time_parse (start, &s.start)) {
        //  A relative start in seconds, as the original allowed ("-10", "+30")
        char *end;
        long long offset = strtoll (start, &end, 10);
        if (*end || (start [0] != '+' && start [0] != '-')) {
            agg_reply_error (reply, NORC_ERROR, "bad start \"%s\": use ISO-8601, \"now\" or +/-SECONDS", start);
            goto done;
        }
        s.start = norc_now_us () + offset * NORC_US_PER_SEC;
    }
    else
    if (start && (start [0] == '+' || start [0] == '-'))
        s.start = norc_now_us () + strtoll (start, NULL, 10) * NORC_US_PER_SEC;
    const char *tz = norc_strmap_get (args, "tz");
    if (tz && !*tz) {
        agg_reply_error (reply, NORC_ERROR, "an empty time zone: give a zone such as Europe/London, "
                       "or leave out --tz for UTC");
        goto done;
    }
    if (tz && !norc_tz_valid (tz)) {
        agg_reply_error (reply, NORC_ERROR, "unknown time zone \"%s\"", tz);
        goto done;
    }
    s.tz = norc_strdup (tz ? tz : "UTC");
    const char *catchup = agg_arg (args, "catchup");
    s.catchup = agg_arg_flag (args, "make_up") ? NORC_CATCHUP_ALL : NORC_CATCHUP_NONE;
    if (catchup) {
        s.catchup = norc_catchup_code (catchup);
        if (s.catchup < 0) {
            agg_reply_error (reply, NORC_ERROR, "bad catch-up \"%s\": use none, all, latest or within", catchup);
            goto done;
        }
    }
    s.catchup_window_s = window;
    s.deadline_s = deadline;
    const char *concurrency = agg_arg (args, "concurrency");
    if (concurrency) {
        s.concurrency = norc_enum_code (&norc_enum_concurrency, concurrency);
        if (s.concurrency < 0) {
            agg_reply_error (reply, NORC_ERROR, "bad concurrency \"%s\": use allow, forbid or replace", concurrency);
            goto done;
        }
    }
    norc_timing_t timing = { NULL, s.start, period };
    if (cron_text) {
        char err [512];
        s.kind = NORC_SCHED_CRON;
        s.cron = norc_cron_normalize (cron_text, s.tz, (uint32_t) (norc_now_us () ^ (uint64_t) getpid ()),
                                      err, sizeof err);
        if (!s.cron) {
            agg_reply_error (reply, NORC_ERROR, "bad cron expression \"%s\": %s", cron_text, err);
            goto done;
        }
        cron = norc_cron_new (s.cron, s.tz, err, sizeof err);
        timing.cron = cron;
    }
    else {
        s.kind = NORC_SCHED_PERIOD;
        s.period_s = period;
    }
    if (norc_timing_next (&timing, s.start - 1, &s.next_nominal) != NORC_OK)
        s.next_nominal = 0;
    int rc = norc_store_schedule_add (self->db, &s);
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot add the schedule");
        goto done;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    char text [64];
    snprintf (text, sizeof text, "%llu", (unsigned long long) s.id);
    norc_strmap_set (row, "id", text);
    norc_strmap_set (row, "timing", s.cron ? s.cron : "period");
    norc_strmap_set (row, "next", norc_time_iso (s.next_nominal, text, sizeof text));
    agg_warn_unserved (self, &queue, reply);
    agg_notify_schedule (self, s.id, "add");
done:
    norc_cron_destroy (&cron);
    norc_schedule_clear (&s);
    norc_queue_clear (&queue);
    norc_task_clear (&task);
}

#define S_LIST_DEFAULT  1000        //  schedules a page unless told

void
agg_op_schedule_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    int64_t limit;
    if (!agg_arg_int (args, "limit", 0, 100000, &limit, reply))
        return;
    norc_schedule_filter_t f = { .all = agg_arg_flag (args, "all"), .limit = limit ? limit : S_LIST_DEFAULT };
    const char *before = agg_arg (args, "before");
    if (before && norc_id_parse (before, &f.before) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "bad before \"%s\": a schedule id (the last of the page before)", before);
        return;
    }
    int rc = norc_store_schedule_list (self->db, &f, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot list schedules");
    else
    if (!limit && reply->rows.count == S_LIST_DEFAULT) {
        char warning [160];
        snprintf (warning, sizeof warning, "the newest %d schedules: the page after them with --before %s "
                  "(or -n, up to 100000)", S_LIST_DEFAULT,
                  norc_strmap_get (&reply->rows.rows [reply->rows.count - 1], "id"));
        norc_strmap_set (&reply->rows.rows [0], "warning", warning);
    }
}

static bool
s_schedule_id (const norc_strmap_t *args, uint64_t *id, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, "id");
    if (norc_id_parse (text, id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, text ? "\"%s\" is not a schedule id (a number from 1)"
                                               : "a schedule id is required", text);
        return false;
    }
    return true;
}

void
agg_op_schedule_show (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    norc_schedule_filter_t f = { .id = id };
    int rc = norc_store_schedule_list (self->db, &f, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the schedule");
    else
    if (reply->rows.count == 0)
        agg_reply_error (reply, NORC_NOTFOUND, "unknown schedule %llu", (unsigned long long) id);
}

void
agg_op_schedule_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    int rc = norc_store_schedule_delete (self->db, id, "deleted by norcctl");
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown schedule %llu", (unsigned long long) id);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot delete the schedule");
    else
        agg_notify_schedule (self, id, "delete");
}

static void
s_schedule_pause (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply, bool paused)
{
    uint64_t id;
    if (!s_schedule_id (args, &id, reply))
        return;
    int rc = norc_store_schedule_set_paused (self->db, id, paused);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown schedule %llu", (unsigned long long) id);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot change the schedule");
    else
        agg_notify_schedule (self, id, "change");
}

void
agg_op_schedule_pause_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_schedule_pause (self, args, reply, true);
}

void
agg_op_schedule_resume_op (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    s_schedule_pause (self, args, reply, false);
}

void
agg_op_schedule_history (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    uint64_t id;
    int64_t limit;
    if (!s_schedule_id (args, &id, reply) || !agg_arg_int (args, "limit", 100, 1000000, &limit, reply))
        return;
    int rc = norc_store_tick_history (self->db, id, (int) limit, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the history");
}

//  The next fire times of an expression, with the zone's offset changes marked
void
agg_op_cron_next (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (self);
    const char *expr = agg_arg (args, "expr");
    const char *tz = agg_arg (args, "tz");
    const char *from = agg_arg (args, "from");
    int64_t count;
    if (!agg_arg_int (args, "n", 5, 1000, &count, reply))
        return;
    norc_us_t t = norc_now_us ();
    if (from && norc_time_parse (from, &t) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "from: \"%s\" is not an ISO-8601 time", from);
        return;
    }
    if (tz && !norc_tz_valid (tz)) {
        agg_reply_error (reply, NORC_ERROR, "unknown time zone \"%s\" (an IANA name, e.g. Europe/London)", tz);
        return;
    }
    char err [512] = "";
    char *stored = expr ? norc_cron_normalize (expr, tz, (uint32_t) (norc_now_us () ^ (uint64_t) getpid ()), err,
                                               sizeof err) : NULL;
    norc_cron_t *cron = stored ? norc_cron_new (stored, tz, err, sizeof err) : NULL;
    if (!cron) {
        agg_reply_error (reply, NORC_ERROR, "bad cron expression \"%s\": %s", expr ? expr : "",
                         expr ? err : "an expression is required");
        free (stored);
        return;
    }
    int offset = norc_tz_offset (tz, t);
    for (int64_t i = 0; i < count; i++) {
        norc_us_t next;
        if (norc_cron_next (cron, t, &next) != NORC_OK)
            break;
        char text [64];
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        norc_strmap_set (row, "time", norc_time_iso (next, text, sizeof text));
        norc_strmap_set (row, "local", norc_tz_format (tz, next, text, sizeof text));
        int now_offset = norc_tz_offset (tz, next);
        snprintf (text, sizeof text, "%d", now_offset);
        norc_strmap_set (row, "offset_s", text);
        norc_strmap_set (row, "dst_change", now_offset != offset ? "1" : "0");
        norc_strmap_set (row, "expression", stored);
        offset = now_offset;
        t = next;
    }
    norc_cron_destroy (&cron);
    free (stored);
}

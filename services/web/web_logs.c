//  web_logs.c - GET /api/v1/instances/{id}/log: an instance's log by byte
//  range. The aggregator says first whether the caller may read it
//  (instance.log, role logs:read); then norc-web fetches the bytes from the
//  log-archiver with its own key and answers them as text/plain, the range
//  and the log's size in headers (docs/web.md).
#include "web_internal.h"
#include "norc_msg.h"
#include "norc_mem.h"
#include "norc_log.h"

#define S_LIMIT     65536           //  bytes in an answer unless told

void
web_logs_args (web_request_t *req, const norc_strmap_t *args)
{
    const char *offset = norc_strmap_get (args, "offset");
    const char *limit = norc_strmap_get (args, "limit");
    const char *tail = norc_strmap_get (args, "tail");
    const char *follow = norc_strmap_get (args, "follow");
    //  The aggregator checks the ranges; what it passes is read here
    req->log_offset = offset ? strtoull (offset, NULL, 10) : 0;
    req->log_limit = limit ? strtoull (limit, NULL, 10) : S_LIMIT;
    req->log_tail = tail ? strtoull (tail, NULL, 10) : 0;
    req->log_follow = follow && (strcmp (follow, "1") == 0 || strcmp (follow, "true") == 0);
}

void
web_logs_fetch (web_t *self, web_request_t *req, const norc_api_reply_t *reply)
{
    const char *status = reply->rows.count ? norc_strmap_get (&reply->rows.rows [0], "status") : NULL;
    req->log_final = status && NORC_STATUS_IS_FINAL (atoi (status));
    norc_msg_t *msg = norc_msg_new (NORC_MSG_LOG_FETCH);
    msg->log_fetch.request_id = req->request_id;
    const char *id = norc_strmap_get (&reply->rows.rows [0], "id");
    msg->log_fetch.instance_id = id ? strtoull (id, NULL, 10) : 0;
    msg->log_fetch.offset = req->log_offset;
    msg->log_fetch.tail = req->log_tail;
    msg->log_fetch.max_bytes = req->log_limit;
    msg->log_fetch.follow = req->log_follow && !req->log_final;
    if (norc_msg_send (&msg, self->archiver) != 0) {
        web_fail (req, 503, "unavailable", "the log-archiver cannot be reached");
        return;
    }
    //  The archiver answers a follow within a second; a fetch at once
    req->log_asked = true;
    req->deadline = norc_mono_us () + (self->timeout_ms + 1000) * 1000;
}

void
web_logs_answer (web_request_t *req, const norc_log_data_t *data)
{
    if (data->error && *data->error && req->log_final) {
        web_fail (req, 404, "no-log", data->error);
        return;
    }
    //  A log not begun yet while its instance waits or runs: none so far
    char *bytes = (char *) norc_malloc (data->data.size + 1);
    if (data->data.size)
        memcpy (bytes, data->data.data, data->data.size);
    bytes [data->data.size] = 0;
    web_answer (req, 200, bytes, "text/plain; charset=utf-8");
    req->text_len = data->data.size;
    req->log_offset = data->offset;
    req->log_size = data->size;
    req->log_complete = data->complete;
}

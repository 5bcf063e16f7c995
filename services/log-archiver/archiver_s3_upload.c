//  archiver_s3_upload.c - the log-archiver's uploader (archiver_s3.h).
//  Its steps for one log:
//
//    owed ── the log grows past a part ──> upload started ── each part ──> parts
//      │                                                                    │
//      └─ closed, one part at most: PutObject (If-None-Match: *)            │
//                                   │               closed: the last parts, │
//                                   │               CompleteMultipartUpload,│
//                                   │               the metadata (a copy    │
//                                   │               onto itself)  <─────────┘
//                                   v
//                      instance.archived answered ──> mark removed (or done/)
//
//  Every step is safe to repeat: a put refused with 412 is read back
//  (HeadObject) and accepted when its SHA-256 is the log's; a part sent
//  again replaces itself; an upload S3 no longer knows is either complete
//  (the object is there with the log's size) or started again; the record
//  accepts the same values twice. A step that fails is tried again after
//  a backoff (1 s doubling to 5 min), the log kept meanwhile.
#include "archiver_s3_internal.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_metrics.h"
#include "norc_zmq.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PARTS_MAX 10000       //  S3's limit on a multipart upload
#define S_COPY_MAX (UINT64_C (5) << 30)    //  S3's limit on one CopyObject
#define S_BACKOFF_MAX_MS (5 * 60 * 1000)

//  A log owed to S3
typedef struct {
    uint64_t id;
    char *upload;               //  the multipart upload's id (NULL: none yet)
    char **etags;               //  of parts 1..parts
    size_t parts;
    bool completed;             //  CompleteMultipartUpload answered
    bool closed;                //  the log is complete
    bool queued;                //  in ready
    uint64_t grown;             //  bytes announced while it was written
    int failures;
    norc_us_t retry_at;         //  monotonic
} s_log_t;

static void
s_log_destroy (void **item)
{
    s_log_t *log = (s_log_t *) *item;
    if (log) {
        for (size_t i = 0; i < log->parts; i++)
            free (log->etags [i]);
        free (log->etags);
        free (log->upload);
        free (log);
        *item = NULL;
    }
}

//  The text of the first <tag> in an XML body (caller frees; NULL: none)
static char *
s_xml (const char *body, const char *tag)
{
    char open [64], close [64];
    snprintf (open, sizeof open, "<%s>", tag);
    snprintf (close, sizeof close, "</%s>", tag);
    const char *start = body ? strstr (body, open) : NULL;
    const char *end = start ? strstr (start, close) : NULL;
    return end ? norc_strndup (start + strlen (open), (size_t) (end - start - strlen (open))) : NULL;
}

//  --------------------------------------------------------------------------
//  The uploader's commands, read between requests and while a request
//  waits to be tried again

static void s_enqueue (archiver_s3_worker_t *w, s_log_t *log);

static s_log_t *
s_log_get (archiver_s3_worker_t *w, uint64_t id)
{
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) id);
    s_log_t *log = (s_log_t *) zhashx_lookup (w->logs, key);
    if (!log) {
        log = (s_log_t *) norc_calloc (1, sizeof (s_log_t));
        log->id = id;
        zhashx_insert (w->logs, key, log);
    }
    return log;
}

static void
s_command (archiver_s3_worker_t *w, zmsg_t *msg)
{
    char *what = zmsg_popstr (msg);
    zframe_t *id_frame = zmsg_pop (msg), *size_frame = zmsg_pop (msg);
    uint64_t id = 0, size = 0;
    if (id_frame && zframe_size (id_frame) == sizeof id)
        memcpy (&id, zframe_data (id_frame), sizeof id);
    if (size_frame && zframe_size (size_frame) == sizeof size)
        memcpy (&size, zframe_data (size_frame), sizeof size);
    if (!what || streq (what, "$TERM"))
        w->term = true;
    else
    if (id && streq (what, "GREW")) {
        s_log_t *log = s_log_get (w, id);
        log->grown = size;
        s_enqueue (w, log);
    }
    else
    if (id && streq (what, "CLOSED")) {
        s_log_t *log = s_log_get (w, id);
        log->closed = true;
        s_enqueue (w, log);
    }
    else
    if (id && streq (what, "FORGET")) {
        //  (never freed here: a step may be using it) the next step finds
        //  the file gone and lets it go
        char key [32];
        snprintf (key, sizeof key, "%llu", (unsigned long long) id);
        s_log_t *log = (s_log_t *) zhashx_lookup (w->logs, key);
        if (log) {
            log->closed = true;
            log->retry_at = 0;
            s_enqueue (w, log);
        }
    }
    zframe_destroy (&id_frame);
    zframe_destroy (&size_frame);
    zstr_free (&what);
}

static void
s_read_pipe (archiver_s3_worker_t *w, zsock_t *pipe, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
    while (!w->term && zmq_poll (&item, 1, timeout_ms) > 0) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        s_command (w, msg);
        zmsg_destroy (&msg);
        timeout_ms = 0;
    }
}

typedef struct {
    archiver_s3_worker_t *w;
    zsock_t *pipe;
} s_waiting_t;

static bool
s_wait (void *arg, int64_t ms)
{
    s_waiting_t *wt = (s_waiting_t *) arg;
    norc_us_t until = norc_mono_us () + ms * 1000;
    while (!wt->w->term && norc_mono_us () < until)
        s_read_pipe (wt->w, wt->pipe, (int) ((until - norc_mono_us ()) / 1000) + 1);
    return !wt->w->term;
}

//  One request; between its tries the uploader reads its pipe
static bool
s_call (archiver_s3_worker_t *w, zsock_t *pipe, const char *what, const char *method, const char *path,
        const norc_aws_pair_t *query, size_t nquery, const norc_aws_pair_t *headers, size_t nheaders,
        const void *body, size_t len, norc_http_response_t *r, norc_aws_error_t *error)
{
    s_waiting_t wt = { w, pipe };
    return archiver_s3_call (w, s_wait, &wt, what, method, path, query, nquery, headers, nheaders, body, len, r,
                             error);
}


//  --------------------------------------------------------------------------
//  The mark: the multipart upload's state, replaced atomically

static void
s_save (archiver_s3_worker_t *w, s_log_t *log)
{
    char *path = archiver_s3_mark_path (w->dir, "pending", log->id);
    char *tmp = norc_asprintf ("%s.tmp", path);
    FILE *file = fopen (tmp, "w");
    if (file) {
        if (log->upload)
            fprintf (file, "upload %s\n", log->upload);
        for (size_t i = 0; i < log->parts; i++)
            fprintf (file, "part %zu %s\n", i + 1, log->etags [i]);
        if (log->completed)
            fprintf (file, "completed\n");
        if (fflush (file) == 0 && fsync (fileno (file)) == 0 && fclose (file) == 0 && rename (tmp, path) == 0)
            tmp [0] = 0;
        else
        if (tmp [0])
            norc_log_warn ("instance=%llu: cannot write %s", (unsigned long long) log->id, path);
    }
    else
        norc_log_warn ("instance=%llu: cannot write %s", (unsigned long long) log->id, tmp);
    if (tmp [0])
        unlink (tmp);
    free (tmp);
    free (path);
}

static void
s_load (archiver_s3_worker_t *w, s_log_t *log)
{
    char *path = archiver_s3_mark_path (w->dir, "pending", log->id);
    FILE *file = fopen (path, "r");
    char line [2048];
    while (file && fgets (line, sizeof line, file)) {
        line [strcspn (line, "\r\n")] = 0;
        size_t number;
        char etag [1024];
        if (strncmp (line, "upload ", 7) == 0 && !log->upload)
            log->upload = norc_strdup (line + 7);
        else
        if (sscanf (line, "part %zu %1023s", &number, etag) == 2 && number == log->parts + 1) {
            log->etags = (char **) norc_realloc (log->etags, (log->parts + 1) * sizeof (char *));
            log->etags [log->parts++] = norc_strdup (etag);
        }
        else
        if (streq (line, "completed"))
            log->completed = true;
    }
    if (file)
        fclose (file);
    free (path);
}

//  The log is in S3 and in the record: its mark goes (or waits in done/
//  for the local copy's retention)
static void
s_finish (archiver_s3_worker_t *w, s_log_t *log, const char *outcome)
{
    char *pending = archiver_s3_mark_path (w->dir, "pending", log->id);
    if (streq (outcome, "archived") && w->retention_s > 0) {
        char *done = archiver_s3_mark_path (w->dir, "done", log->id);
        if (rename (pending, done) != 0)
            unlink (pending);
        else
            utimensat (AT_FDCWD, done, NULL, 0);    //  its age is the local copy's time since it was archived
        free (done);
    }
    else
        unlink (pending);
    free (pending);
    norc_metrics_add ("norc_archiver_s3_logs_total", streq (outcome, "archived") ? "outcome=\"archived\""
                                                    : "outcome=\"given_up\"", 1);
    //  A command during the step may have queued it again
    for (s_log_t *queued = log->queued ? (s_log_t *) zlistx_first (w->ready) : NULL; queued;
         queued = (s_log_t *) zlistx_next (w->ready))
        if (queued == log) {
            zlistx_delete (w->ready, zlistx_cursor (w->ready));
            break;
        }
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) log->id);
    zhashx_delete (w->logs, key);
}

//  --------------------------------------------------------------------------
//  The steps

//  The log's bytes from offset (at most len) into a new buffer
static uint8_t *
s_read_log (const char *file, uint64_t offset, size_t len, size_t *got)
{
    *got = 0;
    int fd = open (file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t *buf = (uint8_t *) norc_malloc (len ? len : 1);
    while (*got < len) {
        ssize_t n = pread (fd, buf + *got, len - *got, (off_t) (offset + *got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        *got += (size_t) n;
    }
    close (fd);
    return buf;
}

//  SHA-256 of a whole file, as hex
static int
s_file_sha256 (const char *file, char hex [65], uint64_t *size)
{
    int fd = open (file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NORC_ERROR;
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    uint8_t *buf = (uint8_t *) norc_malloc (1 << 20);
    ssize_t n;
    *size = 0;
    while ((n = read (fd, buf, 1 << 20)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) {
            crypto_hash_sha256_update (&state, buf, (unsigned long long) n);
            *size += (uint64_t) n;
        }
    free (buf);
    close (fd);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (&state, digest);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
    return n == 0 ? NORC_OK : NORC_ERROR;
}

//  The object's SHA-256 from its metadata (HeadObject): NORC_OK with hex
//  ("" when it has none), NORC_NOTFOUND when there is no object
static int
s_head (archiver_s3_worker_t *w, zsock_t *pipe, const char *path, char hex [65], int64_t *size)
{
    norc_http_response_t r;
    norc_aws_error_t error;
    hex [0] = 0;
    bool ok = s_call (w, pipe, "HeadObject", "HEAD", path, NULL, 0, NULL, 0, NULL, 0, &r, &error);
    int rc = ok ? NORC_OK : r.status == 404 ? NORC_NOTFOUND : NORC_ERROR;
    if (ok) {
        char *meta = archiver_s3_header (r.headers, "x-amz-meta-sha256");
        char *length = archiver_s3_header (r.headers, "Content-Length");
        snprintf (hex, 65, "%s", meta ? meta : "");
        if (size)
            *size = length ? strtoll (length, NULL, 10) : -1;
        free (meta);
        free (length);
    }
    norc_http_response_clear (&r);
    return rc;
}

//  A log of one part: one PutObject, once
static bool
s_put_once (archiver_s3_worker_t *w, zsock_t *pipe, s_log_t *log, const char *file, const char *path, char hex [65],
            uint64_t *size)
{
    struct stat st;
    if (stat (file, &st) != 0)
        return false;
    size_t got;
    uint8_t *body = s_read_log (file, 0, (size_t) st.st_size, &got);
    if (!body || got != (size_t) st.st_size) {
        free (body);
        return false;
    }
    norc_aws_sha256_hex (body, got, hex);
    *size = got;
    norc_aws_pair_t headers [] = { { "If-None-Match", "*" }, { "Content-Type", "text/plain; charset=utf-8" },
                                   { "x-amz-meta-sha256", hex } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = s_call (w, pipe, "PutObject", "PUT", path, NULL, 0, headers, 3, body, got, &r, &error);
    bool there = !ok && error.outcome == NORC_AWS_PRECONDITION;
    norc_http_response_clear (&r);
    free (body);
    if (there) {
        //  Put before (by this archiver before a restart, or another one):
        //  the same bytes are the same log
        char theirs [65];
        int64_t their_size = -1;
        ok = s_head (w, pipe, path, theirs, &their_size) == NORC_OK && streq (theirs, hex)
          && their_size == (int64_t) got;
        if (!ok && theirs [0])
            norc_log_warnx ("instance=%llu: %s holds another log (SHA-256 %s, not %s): left as it is",
                            (unsigned long long) log->id, path, theirs, hex);
    }
    return ok;
}

static bool
s_start_upload (archiver_s3_worker_t *w, zsock_t *pipe, s_log_t *log, const char *path)
{
    norc_aws_pair_t query [] = { { "uploads", "" } };
    norc_aws_pair_t headers [] = { { "Content-Type", "text/plain; charset=utf-8" } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = s_call (w, pipe, "CreateMultipartUpload", "POST", path, query, 1, headers, 1, NULL, 0, &r, &error);
    char *upload = ok ? s_xml (r.body, "UploadId") : NULL;
    norc_http_response_clear (&r);
    if (!upload)
        return false;
    log->upload = upload;
    s_save (w, log);
    return true;
}

//  Part parts + 1: bytes [parts * part_bytes, + len) of file
static bool
s_upload_part (archiver_s3_worker_t *w, zsock_t *pipe, s_log_t *log, const char *file, const char *path, size_t len)
{
    size_t got;
    uint8_t *body = s_read_log (file, log->parts * w->part_bytes, len, &got);
    if (!body || got != len) {
        free (body);
        return false;
    }
    char number [16];
    snprintf (number, sizeof number, "%zu", log->parts + 1);
    norc_aws_pair_t query [] = { { "partNumber", number }, { "uploadId", log->upload } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = s_call (w, pipe, "UploadPart", "PUT", path, query, 2, NULL, 0, body, got, &r, &error);
    char *etag = ok ? archiver_s3_header (r.headers, "ETag") : NULL;
    if (!ok && streq (error.code, "NoSuchUpload")) {
        free (log->upload);
        log->upload = NULL;     //  S3 forgot it (aborted, or completed: s_step looks)
    }
    norc_http_response_clear (&r);
    free (body);
    if (!etag)
        return false;
    log->etags = (char **) norc_realloc (log->etags, (log->parts + 1) * sizeof (char *));
    log->etags [log->parts++] = etag;
    s_save (w, log);
    return true;
}

static bool
s_complete (archiver_s3_worker_t *w, zsock_t *pipe, s_log_t *log, const char *path)
{
    norc_buf_t *xml = norc_buf_new (256 + log->parts * 96);
    norc_buf_printf (xml, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < log->parts; i++)
        norc_buf_printf (xml, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, log->etags [i]);
    norc_buf_printf (xml, "</CompleteMultipartUpload>");
    norc_aws_pair_t query [] = { { "uploadId", log->upload } };
    norc_aws_pair_t headers [] = { { "Content-Type", "application/xml" } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = s_call (w, pipe, "CompleteMultipartUpload", "POST", path, query, 1, headers, 1, norc_buf_str (xml),
                      norc_buf_size (xml), &r, &error);
    //  S3 may answer 200 and say in the body that it failed
    if (ok && r.body && strstr (r.body, "<Error>")) {
        norc_log_warnx ("instance=%llu: CompleteMultipartUpload %s: %.200s", (unsigned long long) log->id, path,
                        r.body);
        ok = false;
    }
    if (!ok && streq (error.code, "NoSuchUpload")) {
        free (log->upload);
        log->upload = NULL;
    }
    norc_http_response_clear (&r);
    norc_buf_destroy (&xml);
    if (ok) {
        log->completed = true;
        s_save (w, log);
    }
    return ok;
}

//  A multipart object gets its SHA-256 in its metadata once it is known:
//  a copy onto itself that replaces the metadata (S3 copies server-side)
static bool
s_set_metadata (archiver_s3_worker_t *w, zsock_t *pipe, const char *path, const char *hex)
{
    char theirs [65];
    if (s_head (w, pipe, path, theirs, NULL) == NORC_OK && streq (theirs, hex))
        return true;
    norc_aws_pair_t headers [] = { { "x-amz-copy-source", path }, { "x-amz-metadata-directive", "REPLACE" },
                                   { "Content-Type", "text/plain; charset=utf-8" }, { "x-amz-meta-sha256", hex } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = s_call (w, pipe, "CopyObject", "PUT", path, NULL, 0, headers, 4, NULL, 0, &r, &error);
    if (ok && r.body && strstr (r.body, "<Error>"))
        ok = false;
    norc_http_response_clear (&r);
    return ok;
}

//  The record: instance.archived, asked of the aggregator. NORC_OK,
//  NORC_CONFLICT (the record holds another object: give up), NORC_ERROR
//  (no answer, or the database away: again later)
static int
s_record (archiver_s3_worker_t *w, uint64_t id, const char *key, uint64_t size, const char *hex)
{
    if (!w->api_sock && !(w->api_sock = norc_zmq_connect (ZMQ_DEALER, w->api)))
        return NORC_ERROR;
    zsock_t *api = w->api_sock;
    static uint64_t request_id;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    msg->api_request.request_id = ++request_id;
    msg->api_request.op = norc_strdup ("instance.archived");
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) id);
    norc_strmap_set (&msg->api_request.args, "instance", text);
    norc_strmap_set (&msg->api_request.args, "key", key);
    snprintf (text, sizeof text, "%llu", (unsigned long long) size);
    norc_strmap_set (&msg->api_request.args, "size", text);
    norc_strmap_set (&msg->api_request.args, "sha256", hex);
    norc_msg_send (&msg, api);
    int rc = NORC_ERROR;
    norc_us_t until = norc_mono_us () + (norc_us_t) w->api_timeout_ms * 1000;
    while (rc == NORC_ERROR && norc_mono_us () < until
       &&  norc_zmq_wait (api, (int) ((until - norc_mono_us ()) / 1000) + 1) == NORC_OK) {
        norc_msg_t *reply = norc_msg_recv (api);
        if (reply && reply->id == NORC_MSG_API_REPLY && reply->api_reply.request_id == request_id) {
            int code = (int) reply->api_reply.code;
            rc = code == 0 ? NORC_OK : code == NORC_CONFLICT || code == NORC_NOTFOUND ? NORC_CONFLICT : NORC_ERROR;
            if (code)
                norc_log_warnx ("instance=%llu: the record of its archived log: %s", (unsigned long long) id,
                                reply->api_reply.error ? reply->api_reply.error : "refused");
            norc_msg_destroy (&reply);
            break;
        }
        norc_msg_destroy (&reply);      //  (an answer to an earlier request that timed out)
    }
    return rc;
}

//  One step of a log: as far as it can go now. False when a request
//  failed (tried again after a backoff).
static bool
s_step (archiver_s3_worker_t *w, zsock_t *pipe, s_log_t *log)
{
    char *final = archiver_s3_log_file (w->dir, log->id, false);
    char *part = archiver_s3_log_file (w->dir, log->id, true);
    char *path = archiver_s3_object_path (w, log->id);
    bool ok = true;
    int64_t size = archiver_s3_size (final);
    bool closed = size >= 0;
    if (!closed)
        size = archiver_s3_size (part);
    if (size < 0) {
        norc_log_warnx ("instance=%llu: its log is gone before it was copied to S3 (log.max_bytes?)",
                        (unsigned long long) log->id);
        s_finish (w, log, "given_up");
        log = NULL;
        goto done;
    }
    const char *file = closed ? final : part;
    uint64_t whole = (uint64_t) size;
    //  Parts while it runs: each full part, and never the last bytes (the
    //  last part may be smaller; the others may not)
    if (!log->completed && (log->upload || whole > w->part_bytes)) {
        if (!log->upload && log->parts) {
            //  S3 no longer knows the upload: complete after all, or to do again
            int64_t there = -1;
            char hex [65];
            if (s_head (w, pipe, path, hex, &there) == NORC_OK && closed && there == size)
                log->completed = true;
            else {
                norc_log_warnx ("instance=%llu: S3 no longer knows its upload: the log is uploaded again",
                                (unsigned long long) log->id);
                for (size_t i = 0; i < log->parts; i++)
                    free (log->etags [i]);
                log->parts = 0;
            }
        }
        if (!log->completed && !log->upload)
            ok = s_start_upload (w, pipe, log, path);
        while (ok && !log->completed && !w->term && (log->parts + 1) * w->part_bytes <= whole
           &&  log->parts < S_PARTS_MAX - 1)
            ok = s_upload_part (w, pipe, log, file, path, (size_t) w->part_bytes);
        if (ok && !log->completed && closed && log->parts * w->part_bytes < whole)
            ok = s_upload_part (w, pipe, log, file, path, (size_t) (whole - log->parts * w->part_bytes));
        if (ok && !log->completed && closed)
            ok = s_complete (w, pipe, log, path);
    }
    if (!ok || !closed || w->term)
        goto done;
    char hex [65];
    uint64_t bytes = 0;
    //  (S3 copies at most 5 GiB in one request: a larger log's hash is in the record only)
    if (log->completed)
        ok = s_file_sha256 (final, hex, &bytes) == NORC_OK
          && (bytes > S_COPY_MAX || s_set_metadata (w, pipe, path, hex));
    else
        ok = s_put_once (w, pipe, log, final, path, hex, &bytes);
    if (ok) {
        char *key = archiver_s3_key (w->prefix, log->id);
        int rc = s_record (w, log->id, key, bytes, hex);
        free (key);
        if (rc == NORC_OK) {
            norc_metrics_add ("norc_archiver_s3_bytes_total", "", (double) bytes);
            s_finish (w, log, "archived");
            log = NULL;
        }
        else
        if (rc == NORC_CONFLICT) {
            s_finish (w, log, "given_up");
            log = NULL;
        }
        ok = rc != NORC_ERROR;
    }
done:
    if (log && ok)
        log->failures = 0;
    free (final);
    free (part);
    free (path);
    return ok;
}

static void
s_enqueue (archiver_s3_worker_t *w, s_log_t *log)
{
    if (!log->queued) {
        log->queued = true;
        zlistx_add_end (w->ready, log);
    }
}

//  Multipart uploads under the prefix that no owed log holds and that
//  started more than archiver.s3_abandon_s ago: their mark was lost (a
//  disk replaced, a log given up): aborted, so S3 does not keep their
//  parts for ever. Asked at start and then every hour.
static void
s_abort_abandoned (archiver_s3_worker_t *w, zsock_t *pipe)
{
    //  PREFIX/instances/0/0 -> PREFIX/instances/
    char *prefix = archiver_s3_key (w->prefix, 0), rel [64];
    prefix [strlen (prefix) - strlen (norc_log_path (0, rel, sizeof rel)) + strlen ("instances/")] = 0;
    char *bucket = norc_asprintf ("/%s", w->bucket);
    char *key_marker = norc_strdup (""), *id_marker = norc_strdup ("");
    norc_us_t before = norc_now_us () - w->abandon_s * NORC_US_PER_SEC;
    size_t aborted = 0;
    bool more = true;
    while (more && !w->term) {
        //  Every upload in progress in the bucket (a few: finished objects
        //  are not listed), filtered by prefix here: a prefix holding "/"
        //  in the query is signed differently by some S3 servers (moto)
        norc_aws_pair_t query [] = { { "uploads", "" }, { "key-marker", key_marker }, { "upload-id-marker", id_marker } };
        norc_http_response_t r;
        norc_aws_error_t error;
        bool ok = s_call (w, pipe, "ListMultipartUploads", "GET", bucket, query, *key_marker ? 3 : 1, NULL, 0, NULL,
                          0, &r, &error);
        more = false;
        for (const char *at = ok ? strstr (r.body, "<Upload>") : NULL; at; at = strstr (at + 1, "<Upload>")) {
            const char *end = strstr (at, "</Upload>");
            if (!end)
                break;
            char *entry = norc_strndup (at, (size_t) (end - at));
            char *key = s_xml (entry, "Key"), *upload = s_xml (entry, "UploadId"), *when = s_xml (entry, "Initiated");
            bool held = false;
            for (s_log_t *log = (s_log_t *) zhashx_first (w->logs); log && upload && !held;
                 log = (s_log_t *) zhashx_next (w->logs))
                held = log->upload && streq (log->upload, upload);
            norc_us_t started = when ? norc_aws_creds_time (when) : 0;
            bool ours = key && strncmp (key, prefix, strlen (prefix)) == 0;
            if (ours && upload && !held && started && started < before) {
                char *path = norc_asprintf ("/%s/%s", w->bucket, key);
                norc_aws_pair_t id [] = { { "uploadId", upload } };
                norc_http_response_t a;
                norc_aws_error_t aerror;
                if (s_call (w, pipe, "AbortMultipartUpload", "DELETE", path, id, 1, NULL, 0, NULL, 0, &a, &aerror))
                    aborted++;
                norc_http_response_clear (&a);
                free (path);
            }
            free (key);
            free (upload);
            free (when);
            free (entry);
        }
        if (ok && strstr (r.body, "<IsTruncated>true</IsTruncated>")) {
            char *next_key = s_xml (r.body, "NextKeyMarker"), *next_id = s_xml (r.body, "NextUploadIdMarker");
            more = next_key && *next_key;
            free (key_marker);
            free (id_marker);
            key_marker = next_key ? next_key : norc_strdup ("");
            id_marker = next_id ? next_id : norc_strdup ("");
        }
        norc_http_response_clear (&r);
    }
    if (aborted)
        norc_log_info ("aborted %zu multipart uploads under s3://%s/%s that no log holds, started over %lld s ago",
                       aborted, w->bucket, prefix, (long long) w->abandon_s);
    free (key_marker);
    free (id_marker);
    free (bucket);
    free (prefix);
}

//  The logs owed, from their marks: at start (each mark's state read),
//  and every few seconds after, which finds a log whose end the loop's
//  message did not bring (the loop never waits for the uploader: when its
//  messages pile up, they are dropped)
static void
s_scan (archiver_s3_worker_t *w, bool start)
{
    char *pending = norc_asprintf ("%s/s3/pending", w->dir);
    DIR *d = opendir (pending);
    struct dirent *e;
    size_t count = 0;
    while (d && (e = readdir (d))) {
        char *end;
        uint64_t id = strtoull (e->d_name, &end, 10);
        if (!id || *end) {
            if (strstr (e->d_name, ".tmp"))
                unlinkat (dirfd (d), e->d_name, 0);
            continue;
        }
        char key [32];
        snprintf (key, sizeof key, "%llu", (unsigned long long) id);
        s_log_t *log = (s_log_t *) zhashx_lookup (w->logs, key);
        if (log && log->closed)
            continue;
        if (!log) {
            log = s_log_get (w, id);
            s_load (w, log);
            count++;
        }
        char *final = archiver_s3_log_file (w->dir, id, false);
        log->closed = archiver_s3_size (final) >= 0;
        free (final);
        s_enqueue (w, log);
    }
    if (d)
        closedir (d);
    if (count && start)
        norc_log_info ("%zu logs owed to S3 from before (%s)", count, pending);
    free (pending);
}

void
archiver_s3_uploader (zsock_t *pipe, void *arg)
{
    archiver_s3_worker_t *w = (archiver_s3_worker_t *) arg;
    w->logs = zhashx_new ();
    zhashx_set_destructor (w->logs, s_log_destroy);
    w->ready = zlistx_new ();
    s_scan (w, true);
    zsock_signal (pipe, 0);
    norc_us_t sweep = norc_mono_us () + NORC_US_PER_SEC;     //  the first, once the loop has settled
    norc_us_t scan = norc_mono_us () + 5 * NORC_US_PER_SEC;
    while (!w->term) {
        if (norc_mono_us () >= sweep) {
            s_abort_abandoned (w, pipe);
            sweep = norc_mono_us () + 3600 * NORC_US_PER_SEC;
        }
        if (norc_mono_us () >= scan) {
            s_scan (w, false);
            scan = norc_mono_us () + 5 * NORC_US_PER_SEC;
        }
        //  The first log whose backoff is over
        norc_us_t now = norc_mono_us (), next = 0;
        s_log_t *log = (s_log_t *) zlistx_first (w->ready);
        while (log && log->retry_at > now) {
            if (!next || log->retry_at < next)
                next = log->retry_at;
            log = (s_log_t *) zlistx_next (w->ready);
        }
        norc_metrics_set ("norc_archiver_s3_backlog", "", (double) zhashx_size (w->logs));
        atomic_store_explicit (&w->backlog, (int) zhashx_size (w->logs), memory_order_relaxed);
        if (!log) {
            if (!next || next > sweep)
                next = sweep;
            if (next > scan)
                next = scan;
            s_read_pipe (w, pipe, (int) ((next - now) / 1000) + 1);
            continue;
        }
        zlistx_delete (w->ready, zlistx_cursor (w->ready));
        log->queued = false;
        s_read_pipe (w, pipe, 0);
        uint64_t id = log->id;
        if (!s_step (w, pipe, log)) {
            char key [32];
            snprintf (key, sizeof key, "%llu", (unsigned long long) id);
            log = (s_log_t *) zhashx_lookup (w->logs, key);
            if (log && !w->term) {
                int64_t ms = 1000LL << (log->failures < 9 ? log->failures : 9);
                log->failures++;
                log->retry_at = norc_mono_us () + (ms < S_BACKOFF_MAX_MS ? ms : S_BACKOFF_MAX_MS) * 1000;
                norc_metrics_add ("norc_archiver_s3_errors_total", "", 1);
                s_enqueue (w, log);
            }
        }
    }
    zlistx_destroy (&w->ready);
    zhashx_destroy (&w->logs);
    if (w->api_sock)
        zsock_set_linger (w->api_sock, 0);
    zsock_destroy (&w->api_sock);       //  (in the thread that made it)
}
//  archiver_s3.c - see archiver_s3.h: the setup, the reader, and what the
//  archiver's loop calls. The uploader is archiver_s3_upload.c.
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

struct _archiver_s3_t {
    zactor_t *uploader;
    zactor_t *reader;
    archiver_s3_worker_t *workers [2];    //  theirs while they run; freed after them
    volatile int cancel;        //  set on the way out: a request on its way ends
    char *dir;
    uint64_t part_bytes;
    int64_t retention_s;
};

int
archiver_s3_backlog (archiver_s3_t *self)
{
    return atomic_load_explicit (&self->workers [0]->backlog, memory_order_relaxed);
}

char *
archiver_s3_key (const char *prefix, uint64_t instance_id)
{
    char rel [64];
    norc_log_path (instance_id, rel, sizeof rel);
    size_t len = prefix ? strlen (prefix) : 0;
    return norc_asprintf ("%s%s%s", len ? prefix : "", len && prefix [len - 1] != '/' ? "/" : "", rel);
}

char *
archiver_s3_object_path (archiver_s3_worker_t *w, uint64_t id)
{
    char *key = archiver_s3_key (w->prefix, id);
    char *path = norc_asprintf ("/%s/%s", w->bucket, key);
    free (key);
    return path;
}

char *
archiver_s3_mark_path (const char *dir, const char *state, uint64_t id)
{
    return norc_asprintf ("%s/s3/%s/%llu", dir, state, (unsigned long long) id);
}

char *
archiver_s3_log_file (const char *dir, uint64_t id, bool part)
{
    char rel [64];
    return norc_asprintf ("%s/%s%s", dir, norc_log_path (id, rel, sizeof rel), part ? ".part" : "");
}

int64_t
archiver_s3_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? (int64_t) st.st_size : -1;
}

//  A header's value among the response's header lines (caller frees; NULL: absent)
char *
archiver_s3_header (const char *headers, const char *name)
{
    size_t len = strlen (name);
    for (const char *line = headers; line && *line; ) {
        if (strncasecmp (line, name, len) == 0 && line [len] == ':') {
            const char *v = line + len + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn (v, "\r\n");
            return norc_strndup (v, n);
        }
        line = strchr (line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}


//  One request with the session's retries; false (logged) when it did not succeed
bool
archiver_s3_call (archiver_s3_worker_t *w, norc_aws_wait_fn *wait, void *arg, const char *what, const char *method,
                  const char *path,
        const norc_aws_pair_t *query, size_t nquery, const norc_aws_pair_t *headers, size_t nheaders,
        const void *body, size_t len, norc_http_response_t *r, norc_aws_error_t *error)
{
    int64_t skew = 0;
    int rc = norc_aws_session_call (w->session, method, path, query, nquery, headers, nheaders, body, len, r, error,
                                    &skew, wait, arg);
    if (rc == NORC_OK)
        return true;
    if (error->outcome == NORC_AWS_SKEWED)
        norc_log_warnx ("S3 %s %s: the clock is off by %lld s (S3's minus ours): %s", what, path, (long long) skew,
                        error->message);
    else
    if (error->outcome != NORC_AWS_PRECONDITION)
        norc_log_warnx ("S3 %s %s: %ld %s %s", what, path, r->status, r->status ? error->code : r->error,
                        r->status ? error->message : "");
    return false;
}

//  --------------------------------------------------------------------------
//  The reader: a fetch answered from the object

static void
s_fetch (archiver_s3_worker_t *w, zsock_t *pipe, zframe_t *routing, const norc_log_fetch_t *f)
{
    char *path = archiver_s3_object_path (w, f->instance_id);
    norc_msg_t *reply = norc_msg_new (NORC_MSG_LOG_DATA);
    norc_log_data_t *d = &reply->log_data;
    d->instance_id = f->instance_id;
    d->request_id = f->request_id;
    uint64_t want = f->max_bytes && f->max_bytes < 1024 * 1024 ? f->max_bytes : 1024 * 1024;
    char range [64];
    if (f->tail)
        snprintf (range, sizeof range, "bytes=-%llu", (unsigned long long) (f->tail < want ? f->tail : want));
    else
        snprintf (range, sizeof range, "bytes=%llu-%llu", (unsigned long long) f->offset,
                  (unsigned long long) (f->offset + want - 1));
    norc_aws_pair_t headers [] = { { "Range", range } };
    norc_http_response_t r;
    norc_aws_error_t error;
    bool ok = archiver_s3_call (w, NULL, NULL, "GetObject", "GET", path, NULL, 0, headers, 1, NULL, 0, &r, &error);
    if (ok || r.status == 416) {
        //  Content-Range: bytes FIRST-LAST/SIZE (416: bytes */SIZE, nothing past the end)
        char *cr = archiver_s3_header (r.headers, "Content-Range");
        char *meta = archiver_s3_header (r.headers, "x-amz-meta-sha256");
        const char *slash = cr ? strrchr (cr, '/') : NULL;
        unsigned long long first = 0;
        d->size = slash ? strtoull (slash + 1, NULL, 10) : r.body_len;
        d->offset = ok && cr && sscanf (cr, "bytes %llu-", &first) == 1 ? first : f->tail ? 0 : f->offset;
        if (ok && r.body_len)
            norc_bin_set (&d->data, r.body, r.body_len);
        d->complete = d->offset + d->data.size >= d->size;
        d->source = archiver_s3_key (w->prefix, f->instance_id);
        d->sha256 = norc_strdup (meta ? meta : "");
        free (cr);
        free (meta);
    }
    else
    if (r.status == 404)
        d->error = norc_asprintf ("no log for instance %llu (neither here nor in s3://%s)",
                                  (unsigned long long) f->instance_id, w->bucket);
    else
        d->error = norc_asprintf ("the log of instance %llu cannot be read from S3: %ld %s",
                                  (unsigned long long) f->instance_id, r.status, r.status ? error.code : r.error);
    norc_http_response_clear (&r);
    free (path);
    norc_buf_t *out = norc_buf_new (d->data.size + 256);
    if (norc_msg_encode (reply, out) == NORC_OK) {
        zmsg_t *msg = zmsg_new ();
        zmsg_append (msg, &routing);
        zmsg_addmem (msg, norc_buf_data (out), norc_buf_size (out));
        zmsg_send (&msg, pipe);
    }
    norc_buf_destroy (&out);
    norc_msg_destroy (&reply);
    zframe_destroy (&routing);
}

static void
s_reader (zsock_t *pipe, void *arg)
{
    archiver_s3_worker_t *w = (archiver_s3_worker_t *) arg;
    zsock_signal (pipe, 0);
    while (!w->term) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *what = zmsg_popstr (msg);
        if (!what || streq (what, "$TERM"))
            w->term = true;
        else
        if (streq (what, "FETCH") && zmsg_size (msg) == 2) {
            zframe_t *routing = zmsg_pop (msg), *body = zmsg_pop (msg);
            norc_msg_t *fetch = norc_msg_decode (zframe_data (body), zframe_size (body), NULL);
            if (fetch && fetch->id == NORC_MSG_LOG_FETCH)
                s_fetch (w, pipe, routing, &fetch->log_fetch);
            else
                zframe_destroy (&routing);
            norc_msg_destroy (&fetch);
            zframe_destroy (&body);
        }
        zstr_free (&what);
        zmsg_destroy (&msg);
    }
}

//  --------------------------------------------------------------------------

static void
s_worker_destroy (archiver_s3_worker_t **w_p)
{
    archiver_s3_worker_t *w = *w_p;
    if (w) {
        norc_aws_session_destroy (&w->session);
        free (w->bucket);
        free (w->prefix);
        free (w->dir);
        free (w->api);
        free (w);
        *w_p = NULL;
    }
}

static archiver_s3_worker_t *
s_worker_new (norc_config_t *config, const char *dir, const norc_aws_target_t *target,
              const norc_aws_creds_config_t *creds)
{
    archiver_s3_worker_t *w = (archiver_s3_worker_t *) norc_calloc (1, sizeof (archiver_s3_worker_t));
    w->session = norc_aws_session_new (target, creds, (int) norc_config_int (config, "archiver.s3_attempts"));
    w->bucket = norc_strdup (norc_config_str (config, "archiver.s3_bucket"));
    w->prefix = norc_strdup (norc_config_str (config, "archiver.s3_prefix"));
    w->dir = norc_strdup (dir);
    w->part_bytes = (uint64_t) norc_config_int (config, "archiver.s3_part_bytes");
    w->retention_s = norc_config_int (config, "archiver.local_retention_s");
    w->abandon_s = norc_config_int (config, "archiver.s3_abandon_s");
    w->api = norc_strdup (norc_config_str (config, "aggregator.api"));
    w->api_timeout_ms = (int) norc_config_int (config, "api.timeout_ms");
    return w;
}

archiver_s3_t *
archiver_s3_new (norc_config_t *config, const char *dir, bool *failed)
{
    *failed = false;
    const char *bucket = norc_config_str (config, "archiver.s3_bucket");
    if (!*bucket)
        return NULL;
    *failed = true;
    norc_aws_env_t env;
    char why [512];
    if (norc_aws_env ("s3", &env, why, sizeof why) != NORC_OK) {
        norc_log_error ("archiver.s3_bucket %s: AWS: %s", bucket, why);
        return NULL;
    }
    norc_aws_creds_config_t creds_config = { norc_config_str (config, "aws.access_key_id"),
                                             norc_config_str (config, "aws.secret_access_key_file"), 0 };
    norc_aws_creds_t creds;
    norc_http_init ();
    if (norc_aws_creds_get (&creds_config, &creds, why, sizeof why) != NORC_OK) {
        norc_log_error ("archiver.s3_bucket %s: AWS: %s", bucket, why);
        return NULL;
    }
    sodium_memzero (&creds, sizeof creds);
    const char *marks [] = { "s3/pending/x", "s3/done/x" };
    for (size_t i = 0; i < 2; i++) {
        char *path = norc_asprintf ("%s/%s", dir, marks [i]);
        char *slash = strrchr (path, '/');
        *slash = 0;
        char *parent = norc_asprintf ("%s/s3", dir);
        mkdir (parent, 0755);
        bool made = mkdir (path, 0755) == 0 || errno == EEXIST;
        if (!made)
            norc_log_warn ("cannot create %s", path);
        free (parent);
        free (path);
        if (!made)
            return NULL;
    }
    norc_metrics_family ("norc_archiver_s3_logs_total", NORC_METRIC_COUNTER,
                         "Logs the archiver finished with S3, by outcome: archived (in S3 and in the record), "
                         "given_up (the local copy went first, or the record holds another object).", NULL, 0);
    norc_metrics_family ("norc_archiver_s3_bytes_total", NORC_METRIC_COUNTER, "Bytes of logs archived to S3.",
                         NULL, 0);
    norc_metrics_family ("norc_archiver_s3_errors_total", NORC_METRIC_COUNTER,
                         "Steps of an upload that failed after their retries (tried again after a backoff).", NULL, 0);
    norc_metrics_family ("norc_archiver_s3_backlog", NORC_METRIC_GAUGE,
                         "Logs owed to S3: written or being written, not yet archived and recorded.", NULL, 0);
    archiver_s3_t *self = (archiver_s3_t *) norc_calloc (1, sizeof (archiver_s3_t));
    self->dir = norc_strdup (dir);
    self->part_bytes = (uint64_t) norc_config_int (config, "archiver.s3_part_bytes");
    self->retention_s = norc_config_int (config, "archiver.local_retention_s");
    norc_aws_target_t target = { .endpoint = env.endpoint, .region = env.region, .service = "s3",
                                 .insecure = !norc_config_bool (config, "archiver.s3_tls_verify"),
                                 .timeout_ms = 120000, .cancel = &self->cancel };
    archiver_s3_worker_t *up = s_worker_new (config, dir, &target, &creds_config);
    archiver_s3_worker_t *reader = s_worker_new (config, dir, &target, &creds_config);
    self->uploader = zactor_new (archiver_s3_uploader, up);
    //  The loop never waits for the uploader: a message it cannot take now
    //  is dropped (its periodic scan of the marks finds the log)
    zsock_set_sndtimeo (zactor_sock (self->uploader), 0);
    self->reader = zactor_new (s_reader, reader);
    norc_log_info ("copying logs to s3://%s/%s (%s, parts of %llu bytes)", bucket,
                   norc_config_str (config, "archiver.s3_prefix"), env.endpoint,
                   (unsigned long long) self->part_bytes);
    *failed = false;
    //  Keep the workers to free after the actors end
    self->workers [0] = up;
    self->workers [1] = reader;
    return self;
}

void
archiver_s3_destroy (archiver_s3_t **self_p)
{
    archiver_s3_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    self->cancel = 1;
    //  ($TERM waits its turn: the uploader, its request cut short, reads on)
    zsock_set_sndtimeo (zactor_sock (self->uploader), -1);
    zactor_destroy (&self->uploader);
    zactor_destroy (&self->reader);
    s_worker_destroy (&self->workers [0]);
    s_worker_destroy (&self->workers [1]);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

uint64_t
archiver_s3_part_bytes (archiver_s3_t *self)
{
    return self->part_bytes;
}

static void
s_tell (archiver_s3_t *self, const char *what, uint64_t id, uint64_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, what);
    zmsg_addmem (msg, &id, sizeof id);
    zmsg_addmem (msg, &size, sizeof size);
    if (zmsg_send (&msg, self->uploader) != 0)
        zmsg_destroy (&msg);            //  dropped: the uploader's scan finds it
}

void
archiver_s3_grew (archiver_s3_t *self, uint64_t instance_id, uint64_t size)
{
    s_tell (self, "GREW", instance_id, size);
}

int
archiver_s3_mark (archiver_s3_t *self, uint64_t instance_id)
{
    char *path = archiver_s3_mark_path (self->dir, "pending", instance_id);
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        norc_log_warn ("instance=%llu: cannot write %s", (unsigned long long) instance_id, path);
    else
        close (fd);
    free (path);
    return fd < 0 ? NORC_ERROR : NORC_OK;
}

void
archiver_s3_closed (archiver_s3_t *self, uint64_t instance_id)
{
    s_tell (self, "CLOSED", instance_id, 0);
}

bool
archiver_s3_owed (archiver_s3_t *self, uint64_t instance_id)
{
    char *path = archiver_s3_mark_path (self->dir, "pending", instance_id);
    bool owed = access (path, F_OK) == 0;
    free (path);
    return owed;
}

void
archiver_s3_forget (archiver_s3_t *self, uint64_t instance_id)
{
    char *path = archiver_s3_mark_path (self->dir, "pending", instance_id);
    unlink (path);
    free (path);
    s_tell (self, "FORGET", instance_id, 0);
}

void
archiver_s3_fetch (archiver_s3_t *self, zframe_t *routing_id, const norc_log_fetch_t *fetch)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_LOG_FETCH);
    msg->log_fetch = *fetch;
    norc_buf_t *out = norc_buf_new (128);
    int rc = norc_msg_encode (msg, out);
    memset (&msg->log_fetch, 0, sizeof msg->log_fetch);     //  borrowed
    norc_msg_destroy (&msg);
    if (rc == NORC_OK) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, "FETCH");
        zframe_t *routing = zframe_dup (routing_id);
        zmsg_append (request, &routing);
        zmsg_addmem (request, norc_buf_data (out), norc_buf_size (out));
        if (zmsg_send (&request, self->reader) != 0)
            zmsg_destroy (&request);
    }
    norc_buf_destroy (&out);
}

zsock_t *
archiver_s3_socket (archiver_s3_t *self)
{
    return zactor_sock (self->reader);
}

norc_msg_t *
archiver_s3_answer (archiver_s3_t *self)
{
    zmsg_t *msg = zmsg_recv (self->reader);
    norc_msg_t *reply = NULL;
    if (msg && zmsg_size (msg) == 2) {
        zframe_t *routing = zmsg_pop (msg), *body = zmsg_pop (msg);
        reply = norc_msg_decode (zframe_data (body), zframe_size (body), NULL);
        if (reply)
            norc_msg_set_routing_id (reply, routing);
        zframe_destroy (&routing);
        zframe_destroy (&body);
    }
    zmsg_destroy (&msg);
    return reply;
}

uint64_t
archiver_s3_expire (archiver_s3_t *self)
{
    if (self->retention_s <= 0)
        return 0;
    char *done = norc_asprintf ("%s/s3/done", self->dir);
    DIR *d = opendir (done);
    struct dirent *e;
    uint64_t freed = 0;
    time_t before = time (NULL) - (time_t) self->retention_s;
    while (d && (e = readdir (d))) {
        char *end;
        uint64_t id = strtoull (e->d_name, &end, 10);
        struct stat st;
        if (!id || *end || fstatat (dirfd (d), e->d_name, &st, 0) != 0 || st.st_mtime > before)
            continue;
        char *file = archiver_s3_log_file (self->dir, id, false);
        int64_t size = archiver_s3_size (file);
        if (size >= 0 && unlink (file) == 0)
            freed += (uint64_t) size;
        unlinkat (dirfd (d), e->d_name, 0);
        free (file);
    }
    if (d)
        closedir (d);
    free (done);
    return freed;
}

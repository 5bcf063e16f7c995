//  archiver.c - the log-archiver's loop.
//
//  A log lives at log.dir/instances/<id div 1000>/<id>, a path made from the
//  instance id alone (the path a sender suggests is ignored). While the
//  instance runs the file is "<path>.part"; the chunk marked eof closes it
//  and renames it, so "complete" survives a restart of the archiver.
//
//  Chunks carry their offset. A chunk that starts beyond what is held is a
//  gap (a chunk was lost) and is dropped; one that is already held is a
//  resend and is skipped; the rest is appended. Every chunk is answered
//  with ACK(offset held), and ACK(size + 1) once the log is closed and the
//  file system synced (one syncfs every 50 ms covers every log closed
//  meanwhile), which tells the executor it may delete its spool.
//
//  With log.max_bytes set, the archive is kept within it: the bytes under
//  log.dir are counted at start and as they are written, and when they pass
//  the limit the oldest complete logs (lowest ids, which grow with time)
//  are removed until nine tenths of it are used. The highest id removed is
//  kept in instances/.removed_through, so that a reader is told the log was
//  removed (not that it never was), and an executor resending the end of a
//  removed log is told it is held.
//
//  Readers send LOG-FETCH; with follow set and nothing new, the request is
//  parked until more arrives or a second passes, then answered.
//
//  Under CURVE a message refused for its sender is also handed to the
//  aggregator (REFUSAL, five a second at most), which records it in the
//  audit: the archiver holds no database credentials.
#include "archiver.h"
#include "archiver_s3.h"
#include "archiver_link.h"
#include "norc_log.h"
#include "norc_authz.h"
#include "norc_service.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_MAX (1024 * 1024)

typedef struct {
    uint64_t instance_id;
    int fd;                     //  open .part file
    uint64_t size;
    char *path;                 //  final path
    char *part;                 //  path while open
    uint64_t announced;         //  size last told to the S3 uploader
} s_open_t;

//  A reader's fetch, answered at once or parked until there is more
typedef struct {
    zframe_t *routing_id;
    uint64_t instance_id;
    uint64_t offset;
    uint64_t max;
    uint64_t tail;              //  non-zero: the last tail bytes (offset ignored)
    uint64_t request_id;
    norc_us_t until;            //  monotonic time to answer anyway
} s_parked_t;

typedef struct {
    zframe_t *routing_id;       //  the executor
    uint64_t instance_id;
    uint64_t size;              //  acknowledged as size + 1 after the sync
} s_closed_t;

struct _archiver_t {
    norc_config_t *config;      //  not owned
    char *dir;                  //  log.dir
    char *last_dir;             //  the directory made last (skip mkdir -p)
    zlistx_t *closed;           //  s_closed_t waiting for the group sync
    zsock_t *logs;              //  ROUTER for executors
    zsock_t *fetch;             //  ROUTER for readers
    zsock_t *refusals;          //  DEALER to aggregator.events (under CURVE): refusals for the audit
    norc_rate_t refusals_rate;  //  five a second at most
    zloop_t *loop;
    zhashx_t *open;             //  instance id -> s_open_t
    zlistx_t *parked;           //  s_parked_t
    uint64_t chunks, bytes;
    int64_t max_bytes;          //  log.max_bytes, 0: no limit
    uint64_t held;              //  bytes under log.dir/instances (counted at start, then kept)
    uint64_t removed_through;   //  highest instance id whose log the limit removed
    norc_us_t over_said;        //  monotonic: when "still over the limit" was last logged
    archiver_s3_t *s3;          //  copies to S3 (archiver.s3_bucket), or NULL
    archiver_link_t *link;      //  its place in the record (status, heartbeat, backlog)
};

static void
s_open_destroy (void **item)
{
    s_open_t *o = (s_open_t *) *item;
    if (o) {
        if (o->fd >= 0)
            close (o->fd);
        free (o->path);
        free (o->part);
        free (o);
        *item = NULL;
    }
}

static void
s_closed_destroy (void **item)
{
    s_closed_t *c = (s_closed_t *) *item;
    if (c) {
        zframe_destroy (&c->routing_id);
        free (c);
        *item = NULL;
    }
}

static void
s_parked_destroy (void **item)
{
    s_parked_t *p = (s_parked_t *) *item;
    if (p) {
        zframe_destroy (&p->routing_id);
        free (p);
        *item = NULL;
    }
}

archiver_t *
archiver_new (norc_config_t *config)
{
    archiver_t *self = (archiver_t *) norc_calloc (1, sizeof (archiver_t));
    self->config = config;
    self->dir = norc_strdup (norc_config_str (config, "log.dir"));
    self->max_bytes = norc_config_int (config, "log.max_bytes");
    self->open = zhashx_new ();
    zhashx_set_destructor (self->open, s_open_destroy);
    self->parked = zlistx_new ();
    zlistx_set_destructor (self->parked, s_parked_destroy);
    self->closed = zlistx_new ();
    zlistx_set_destructor (self->closed, s_closed_destroy);
    return self;
}

void
archiver_destroy (archiver_t **self_p)
{
    if (self_p && *self_p) {
        archiver_t *self = *self_p;
        archiver_link_destroy (&self->link);
        archiver_s3_destroy (&self->s3);
        zlistx_destroy (&self->closed);
        zlistx_destroy (&self->parked);
        zhashx_destroy (&self->open);
        free (self->last_dir);
        zloop_destroy (&self->loop);
        zsock_destroy (&self->fetch);
        zsock_destroy (&self->logs);
        zsock_destroy (&self->refusals);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

static char *
s_final_path (archiver_t *self, uint64_t instance_id)
{
    char rel [64];
    return norc_asprintf ("%s/%s", self->dir, norc_log_path (instance_id, rel, sizeof rel));
}

//  mkdir -p for the directory part of path
static int
s_mkdirs (const char *path)
{
    char *copy = norc_strdup (path);
    for (char *p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (copy, 0755) != 0 && errno != EEXIST) {
                free (copy);
                return -1;
            }
            *p = '/';
        }
    free (copy);
    return 0;
}

static int64_t
s_file_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? (int64_t) st.st_size : -1;
}

//  Whether the log at path was removed by log.max_bytes (neither it nor
//  its .part is there, and its id is not above the highest one removed)
static bool
s_removed (archiver_t *self, uint64_t instance_id, const char *path)
{
    if (instance_id > self->removed_through || s_file_size (path) >= 0)
        return false;
    char *part = norc_asprintf ("%s.part", path);
    bool gone = s_file_size (part) < 0;
    free (part);
    return gone;
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

//  The numbers that name entries of dir (complete logs, or buckets), in
//  order; with sizes, the bytes of each entry counted into *total
//  (.part files included, not listed). Caller frees.
static uint64_t *
s_numbered (const char *dir, size_t *count, uint64_t *total)
{
    *count = 0;
    DIR *d = opendir (dir);
    if (!d)
        return NULL;
    size_t cap = 64;
    uint64_t *ids = (uint64_t *) norc_malloc (cap * sizeof (uint64_t));
    struct dirent *e;
    while ((e = readdir (d))) {
        if (e->d_name [0] < '0' || e->d_name [0] > '9')
            continue;
        char *end;
        uint64_t id = strtoull (e->d_name, &end, 10);
        if (total) {
            struct stat st;
            if (fstatat (dirfd (d), e->d_name, &st, 0) == 0 && S_ISREG (st.st_mode))
                *total += (uint64_t) st.st_size;
        }
        if (*end)
            continue;           //  a .part
        if (*count == cap)
            ids = (uint64_t *) norc_realloc (ids, (cap *= 2) * sizeof (uint64_t));
        ids [(*count)++] = id;
    }
    closedir (d);
    qsort (ids, *count, sizeof (uint64_t), s_compare_u64);
    return ids;
}

static void
s_save_removed (archiver_t *self)
{
    char *path = norc_asprintf ("%s/instances/.removed_through", self->dir);
    char *tmp = norc_asprintf ("%s.tmp", path);
    FILE *file = fopen (tmp, "w");
    if (file) {
        fprintf (file, "%llu\n", (unsigned long long) self->removed_through);
        if (fclose (file) == 0 && rename (tmp, path) == 0)
            tmp [0] = 0;
    }
    if (tmp [0])
        norc_log_warn ("cannot write %s", path);
    free (tmp);
    free (path);
}

//  Read the highest id removed before, and, when there is a limit, count
//  what the archive holds (a walk of every log: only then)
static void
s_count_held (archiver_t *self)
{
    char *instances = norc_asprintf ("%s/instances", self->dir);
    size_t buckets = 0;
    uint64_t *bucket = self->max_bytes > 0 ? s_numbered (instances, &buckets, NULL) : NULL;
    self->held = 0;
    for (size_t b = 0; b < buckets; b++) {
        char *dir = norc_asprintf ("%s/%llu", instances, (unsigned long long) bucket [b]);
        size_t count;
        free (s_numbered (dir, &count, &self->held));
        free (dir);
    }
    free (bucket);
    char *path = norc_asprintf ("%s/.removed_through", instances);
    FILE *file = fopen (path, "r");
    unsigned long long through = 0;
    if (file && fscanf (file, "%llu", &through) == 1)
        self->removed_through = through;
    if (file)
        fclose (file);
    free (path);
    free (instances);
}

//  Past log.max_bytes: remove the oldest complete logs until nine tenths
//  of it are used
static size_t s_trim_pass (archiver_t *self, uint64_t target, bool owed_too);

static void
s_trim (archiver_t *self)
{
    if (self->max_bytes <= 0 || self->held <= (uint64_t) self->max_bytes)
        return;
    uint64_t target = (uint64_t) self->max_bytes / 10 * 9, before = self->held;
    //  Logs not yet copied to S3 go last, and only when the rest was not enough
    size_t removed = s_trim_pass (self, target, false);
    if (self->s3 && self->held > target) {
        size_t owed = s_trim_pass (self, target, true);
        if (owed)
            norc_log_warnx ("log.max_bytes %lld: %zu logs not yet copied to S3 removed (S3 is behind: "
                            "norc_archiver_s3_backlog)", (long long) self->max_bytes, owed);
        removed += owed;
    }
    if (removed) {
        s_save_removed (self);
        norc_log_info ("log.max_bytes %lld: removed the %zu oldest logs (%llu bytes), through instance %llu",
                       (long long) self->max_bytes, removed, (unsigned long long) (before - self->held),
                       (unsigned long long) self->removed_through);
    }
    norc_us_t now = norc_mono_us ();
    if (self->held > (uint64_t) self->max_bytes && (!self->over_said || now - self->over_said > 60 * NORC_US_PER_SEC)) {
        self->over_said = now;
        norc_log_warnx ("the logs still hold %llu bytes, over log.max_bytes (%lld): the rest are still being written",
                        (unsigned long long) self->held, (long long) self->max_bytes);
    }
}

//  Remove the oldest complete logs until target; those owed to S3 too when
//  owed_too (forgotten by the uploader). How many were removed.
static size_t
s_trim_pass (archiver_t *self, uint64_t target, bool owed_too)
{
    size_t removed = 0;
    char *instances = norc_asprintf ("%s/instances", self->dir);
    size_t buckets;
    uint64_t *bucket = s_numbered (instances, &buckets, NULL);
    for (size_t b = 0; b < buckets && self->held > target; b++) {
        char *dir = norc_asprintf ("%s/%llu", instances, (unsigned long long) bucket [b]);
        size_t count;
        uint64_t *ids = s_numbered (dir, &count, NULL);
        for (size_t i = 0; i < count && self->held > target; i++) {
            bool owed = self->s3 && archiver_s3_owed (self->s3, ids [i]);
            if (owed && !owed_too)
                continue;
            char *path = norc_asprintf ("%s/%llu", dir, (unsigned long long) ids [i]);
            int64_t size = s_file_size (path);
            if (size >= 0 && unlink (path) == 0) {
                if (owed)
                    archiver_s3_forget (self->s3, ids [i]);
                self->held -= (uint64_t) size < self->held ? (uint64_t) size : self->held;
                if (ids [i] > self->removed_through)
                    self->removed_through = ids [i];
                removed++;
            }
            free (path);
        }
        if (rmdir (dir) == 0 && self->last_dir && strcmp (self->last_dir, dir) == 0) {
            free (self->last_dir);
            self->last_dir = NULL;
        }
        free (ids);
        free (dir);
    }
    free (bucket);
    free (instances);
    return removed;
}

static void
s_ack (archiver_t *self, zframe_t *routing_id, uint64_t instance_id, uint64_t offset)
{
    norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
    ack->ack.instance_id = instance_id;
    ack->ack.seq = offset;
    norc_msg_set_routing_id (ack, routing_id);
    norc_msg_send (&ack, self->logs);
}

static void s_answer_parked (archiver_t *self, uint64_t instance_id, bool all);

static void
s_on_chunk (archiver_t *self, norc_msg_t *msg)
{
    norc_log_chunk_t *c = &msg->log_chunk;
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) c->instance_id);
    s_open_t *o = (s_open_t *) zhashx_lookup (self->open, key);
    if (!o) {
        char *path = s_final_path (self, c->instance_id);
        int64_t done = s_file_size (path);
        if (done >= 0) {
            //  Closed before: a resend of the end
            s_ack (self, msg->routing_id, c->instance_id, (uint64_t) done + 1);
            free (path);
            return;
        }
        if (s_removed (self, c->instance_id, path) && c->offset > 0 && c->offset != NORC_LOG_APPEND) {
            //  Closed, then removed by log.max_bytes: a resend of its end
            s_ack (self, msg->routing_id, c->instance_id, c->offset + c->data.size + (c->eof ? 1 : 0));
            free (path);
            return;
        }
        o = (s_open_t *) norc_calloc (1, sizeof (s_open_t));
        o->instance_id = c->instance_id;
        o->path = path;
        o->part = norc_asprintf ("%s.part", path);
        //  Most logs land in the directory made last: skip the mkdirs then
        const char *slash = strrchr (o->part, '/');
        size_t dirlen = slash ? (size_t) (slash - o->part) : 0;
        bool known = self->last_dir && strlen (self->last_dir) == dirlen
                  && strncmp (self->last_dir, o->part, dirlen) == 0;
        if (!known && s_mkdirs (o->part) == 0) {
            free (self->last_dir);
            self->last_dir = norc_strndup (o->part, dirlen);
        }
        if ((o->fd = open (o->part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
            norc_log_warn ("instance=%llu: cannot open %s", (unsigned long long) c->instance_id, o->part);
            void *item = o;
            s_open_destroy (&item);
            return;         //  no ack: the executor keeps its spool and sends again
        }
        struct stat st;
        o->size = fstat (o->fd, &st) == 0 && st.st_size > 0 ? (uint64_t) st.st_size : 0;
        zhashx_insert (self->open, key, o);
    }
    if (c->offset == NORC_LOG_APPEND)
        c->offset = o->size;        //  a lost run's closing lines (eof set)
    uint64_t end = c->offset + c->data.size;
    if (c->offset <= o->size && end > o->size) {
        size_t skip = (size_t) (o->size - c->offset);
        const uint8_t *data = c->data.data + skip;
        size_t left = c->data.size - skip;
        while (left > 0) {
            ssize_t n = pwrite (o->fd, data, left, (off_t) o->size);
            if (n <= 0) {
                if (errno == EINTR)
                    continue;
                norc_log_warn ("instance=%llu: cannot write %s", (unsigned long long) c->instance_id, o->part);
                break;
            }
            o->size += (uint64_t) n;
            self->held += (uint64_t) n;
            data += n;
            left -= (size_t) n;
        }
        self->bytes += c->data.size - skip;
    }
    self->chunks++;
    if (self->s3 && o->size >= o->announced + archiver_s3_part_bytes (self->s3)) {
        archiver_s3_grew (self->s3, o->instance_id, o->size);
        o->announced = o->size;
    }
    if (c->eof && end == o->size) {
        //  Owed to S3 from now: the mark is made durable by the sync with the log
        if (self->s3)
            archiver_s3_mark (self->s3, c->instance_id);
        if (rename (o->part, o->path) != 0)
            norc_log_warn ("instance=%llu: cannot close %s", (unsigned long long) c->instance_id, o->path);
        //  The final ack lets the executor delete its spool: it waits for
        //  the next group sync of the file system (one sync for many logs)
        s_closed_t *closed = (s_closed_t *) norc_calloc (1, sizeof (s_closed_t));
        closed->routing_id = zframe_dup (msg->routing_id);
        closed->instance_id = c->instance_id;
        closed->size = o->size;
        zlistx_add_end (self->closed, closed);
        zhashx_delete (self->open, key);
    }
    else
        s_ack (self, msg->routing_id, c->instance_id, o->size);
    s_answer_parked (self, c->instance_id, false);
}

static int
s_handle_logs (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    archiver_t *self = (archiver_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (!msg || !norc_authz_check (msg, NULL)) {
        norc_msg_destroy (&msg);
        return 0;
    }
    if (msg->id == NORC_MSG_LOG_CHUNK)
        s_on_chunk (self, msg);
    else
        norc_log_warnx ("unexpected %s on the logs socket", norc_msg_name (msg));
    norc_msg_destroy (&msg);
    return 0;
}

//  Answer a fetch with what is there. False when there was nothing new and
//  the log is not complete (the caller may park it).
static bool
s_answer (archiver_t *self, const s_parked_t *fetch, bool force)
{
    uint64_t instance_id = fetch->instance_id;
    uint64_t offset = fetch->offset;
    uint64_t max = fetch->max;
    char *path = s_final_path (self, instance_id);
    char *part = norc_asprintf ("%s.part", path);
    bool complete = s_file_size (path) >= 0;
    const char *file = complete ? path : part;
    int64_t size = s_file_size (file);
    norc_msg_t *reply = norc_msg_new (NORC_MSG_LOG_DATA);
    reply->log_data.instance_id = instance_id;
    reply->log_data.request_id = fetch->request_id;
    bool answered = true;
    if (size < 0) {
        if (!force) {
            answered = false;
            goto done;
        }
        if (self->s3) {
            //  Not here (removed after it was archived, or never here): S3 answers
            norc_log_fetch_t f = { .instance_id = instance_id, .offset = fetch->offset, .max_bytes = fetch->max,
                                   .tail = fetch->tail, .request_id = fetch->request_id };
            archiver_s3_fetch (self->s3, fetch->routing_id, &f);
            goto done;
        }
        if (s_removed (self, instance_id, path))
            reply->log_data.error = norc_asprintf ("the log of instance %llu was removed to keep the logs within "
                                                   "log.max_bytes", (unsigned long long) instance_id);
        else
            reply->log_data.error = norc_asprintf ("no log for instance %llu (yet)", (unsigned long long) instance_id);
    }
    else {
        if (fetch->tail)
            offset = (uint64_t) size > fetch->tail ? (uint64_t) size - fetch->tail : 0;
        reply->log_data.size = (uint64_t) size;
        uint64_t want = max && max < FETCH_MAX ? max : FETCH_MAX;
        uint64_t avail = (uint64_t) size > offset ? (uint64_t) size - offset : 0;
        if (want > avail)
            want = avail;
        if (want == 0 && !complete && !force) {
            answered = false;
            goto done;
        }
        if (want) {
            int fd = open (file, O_RDONLY | O_CLOEXEC);
            uint8_t *buf = (uint8_t *) norc_malloc ((size_t) want);
            ssize_t n = fd >= 0 ? pread (fd, buf, (size_t) want, (off_t) offset) : -1;
            if (fd >= 0)
                close (fd);
            if (n > 0)
                norc_bin_set (&reply->log_data.data, buf, (size_t) n);
            free (buf);
        }
        reply->log_data.complete = complete && offset + reply->log_data.data.size >= (uint64_t) size;
    }
    reply->log_data.offset = offset;
    norc_msg_set_routing_id (reply, fetch->routing_id);
    norc_msg_send (&reply, self->fetch);
done:
    norc_msg_destroy (&reply);
    free (path);
    free (part);
    return answered;
}

static void
s_answer_parked (archiver_t *self, uint64_t instance_id, bool all)
{
    norc_us_t now = norc_mono_us ();
    s_parked_t *p = (s_parked_t *) zlistx_first (self->parked);
    while (p) {
        bool due = all || now >= p->until;
        if ((p->instance_id == instance_id || due)
        &&  s_answer (self, p, due)) {
            zlistx_delete (self->parked, zlistx_cursor (self->parked));
            p = (s_parked_t *) zlistx_first (self->parked);
            continue;
        }
        p = (s_parked_t *) zlistx_next (self->parked);
    }
}

static int
s_handle_fetch (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    archiver_t *self = (archiver_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (!msg || !norc_authz_check (msg, NULL)) {
        norc_msg_destroy (&msg);
        return 0;
    }
    if (msg->id == NORC_MSG_LOG_FETCH) {
        norc_log_fetch_t *f = &msg->log_fetch;
        s_parked_t fetch = { msg->routing_id, f->instance_id, f->offset, f->max_bytes, f->tail, f->request_id,
                             norc_mono_us () + NORC_US_PER_SEC };
        if (f->archive && !self->s3) {
            norc_msg_t *reply = norc_msg_new (NORC_MSG_LOG_DATA);
            reply->log_data.instance_id = f->instance_id;
            reply->log_data.request_id = f->request_id;
            reply->log_data.error = norc_strdup ("this log-archiver copies no logs to S3 (archiver.s3_bucket)");
            norc_msg_set_routing_id (reply, msg->routing_id);
            norc_msg_send (&reply, sock);
        }
        else
        if (f->archive)
            archiver_s3_fetch (self->s3, msg->routing_id, f);
        else
        if (!s_answer (self, &fetch, !f->follow)) {
            s_parked_t *p = (s_parked_t *) norc_malloc (sizeof fetch);
            *p = fetch;
            p->routing_id = zframe_dup (msg->routing_id);
            zlistx_add_end (self->parked, p);
        }
    }
    else
        norc_log_warnx ("unexpected %s on the fetch socket", norc_msg_name (msg));
    norc_msg_destroy (&msg);
    return 0;
}

//  Make the closed logs durable with one syncfs, then acknowledge them.
static void
s_sync_closed (archiver_t *self)
{
    if (zlistx_size (self->closed) == 0)
        return;
    int fd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        syncfs (fd);
        close (fd);
    }
    for (s_closed_t *c = (s_closed_t *) zlistx_first (self->closed); c;
         c = (s_closed_t *) zlistx_next (self->closed)) {
        s_ack (self, c->routing_id, c->instance_id, c->size + 1);
        if (self->s3)
            archiver_s3_closed (self->s3, c->instance_id);
    }
    zlistx_purge (self->closed);
}

static int
s_on_sync (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    s_sync_closed ((archiver_t *) arg);
    return 0;
}

static int
s_handle_s3 (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (sock);
    archiver_t *self = (archiver_t *) arg;
    norc_msg_t *reply = archiver_s3_answer (self->s3);
    if (reply)
        norc_msg_send (&reply, self->fetch);
    return 0;
}

//  Local copies past archiver.local_retention_s, once archived, go
static int
s_on_retention (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    archiver_t *self = (archiver_t *) arg;
    uint64_t freed = archiver_s3_expire (self->s3);
    self->held -= freed < self->held ? freed : self->held;
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    s_answer_parked ((archiver_t *) arg, 0, false);
    s_trim ((archiver_t *) arg);
    return 0;
}

//  SIGTERM/SIGINT: stop taking chunks; what is written is synced on the way out
static int
s_on_signal (void *arg, int count)
{
    NORC_UNUSED (arg);
    NORC_UNUSED (count);
    return -1;
}

//  A message refused for its sender: to the aggregator, for the audit
static void
s_on_refused (void *arg, const norc_zap_who_t *who, const char *verb, const char *why, const char *address)
{
    archiver_t *self = (archiver_t *) arg;
    if (!norc_rate_allow (&self->refusals_rate, 5))
        return;
    norc_msg_t *msg = norc_msg_new (NORC_MSG_REFUSAL);
    msg->refusal.server = norc_strdup ("archiver");
    msg->refusal.verb = norc_strdup (verb);
    msg->refusal.principal = norc_strdup (who->name);
    msg->refusal.fingerprint = norc_strdup (who->fingerprint);
    msg->refusal.address = norc_strdup (address);
    msg->refusal.reason = norc_strdup (why ? why : "");
    norc_msg_send (&msg, self->refusals);
}

int
archiver_start (archiver_t *self)
{
    char *probe = norc_asprintf ("%s/instances/x", self->dir);
    int rc = s_mkdirs (probe);
    free (probe);
    if (rc != 0) {
        norc_log_warn ("cannot create the log directory %s", self->dir);
        return NORC_ERROR;
    }
    bool failed = false;
    self->s3 = archiver_s3_new (self->config, self->dir, &failed);
    if (failed)
        return NORC_ERROR;
    s_count_held (self);
    s_trim (self);
    char *logs = norc_config_bind_endpoint (self->config, "archiver.logs");
    char *fetch = norc_config_bind_endpoint (self->config, "archiver.fetch");
    self->logs = norc_zmq_bind (ZMQ_ROUTER, logs);
    self->fetch = norc_zmq_bind (ZMQ_ROUTER, fetch);
    if (self->logs && self->fetch)
        norc_log_info ("writing logs under %s; chunks on %s, readers on %s", self->dir, logs, fetch);
    free (logs);
    free (fetch);
    if (!self->logs || !self->fetch)
        return NORC_ERROR;
    if (norc_zap_curve ()) {
        self->refusals = norc_zmq_connect (ZMQ_DEALER, norc_config_str (self->config, "aggregator.events"));
        if (self->refusals) {
            zsock_set_sndtimeo (self->refusals, 0);     //  the aggregator away: the refusal is only logged
            norc_authz_on_denied (s_on_refused, self);
        }
    }
    self->loop = zloop_new ();
    zloop_reader (self->loop, self->logs, s_handle_logs, self);
    zloop_reader (self->loop, self->fetch, s_handle_fetch, self);
    zloop_timer (self->loop, 200, 0, s_on_tick, self);
    zloop_timer (self->loop, 50, 0, s_on_sync, self);
    if (self->s3) {
        zloop_reader (self->loop, archiver_s3_socket (self->s3), s_handle_s3, self);
        int every = norc_config_int (self->config, "archiver.local_retention_s") < 60 ? 1000 : 60000;
        zloop_timer (self->loop, (size_t) every, 0, s_on_retention, self);
    }
    norc_service_on_signal (self->loop, s_on_signal, self);
    norc_service_upkeep (self->loop, self->config);
    //  Its sockets are bound: executors' logs wait in them meanwhile
    self->link = archiver_link_new (self->config, self->loop, self->s3);
    return self->link ? NORC_OK : NORC_ERROR;
}

void
archiver_run (archiver_t *self)
{
    zloop_start (self->loop);
    s_sync_closed (self);
    s_answer_parked (self, 0, true);
    archiver_link_destroy (&self->link);    //  ENDED, once what it holds is synced
    norc_log_info ("stopped: %llu chunks, %llu bytes written", (unsigned long long) self->chunks,
                   (unsigned long long) self->bytes);
}

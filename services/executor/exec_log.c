//  exec_log.c - each instance's log: held in memory while it is young and
//  short, then spooled to a file; sent to the archiver in chunks at
//  offsets, and sent again from the last acknowledged byte until the
//  archiver holds it whole (see executor.c's header for the whole story).
#include "exec_internal.h"

void
exec_log_destroy (void **item)
{
    exec_log_t *log = (exec_log_t *) *item;
    if (log) {
        if (log->fd >= 0)
            close (log->fd);
        free (log->path);
        free (log->spool);
        free (log->memory);
        free (log);
        *item = NULL;
    }
}

//  Move a log held in memory to a spool file. NORC_OK when it has one.
int
exec_log_spool (exec_spool_t *spool, exec_log_t *log)
{
    if (log->spool)
        return NORC_OK;
    if (log->append)
        return NORC_ERROR;      //  its offsets are the archiver's: it stays in memory
    char name [64];
    snprintf (name, sizeof name, "%llu.log", (unsigned long long) log->instance_id);
    int fd = exec_spool_file_new (spool, name);
    if (fd < 0) {
        norc_log_warn ("instance=%llu: cannot spool the log in %s (kept in memory)",
                       (unsigned long long) log->instance_id, exec_spool_dir (spool));
        return NORC_ERROR;
    }
    for (size_t done = 0; done < log->written; ) {
        ssize_t n = pwrite (fd, log->memory + done, log->written - done, (off_t) done);
        if (n <= 0 && errno != EINTR) {
            norc_log_warn ("instance=%llu: cannot spool the log in %s (kept in memory)",
                           (unsigned long long) log->instance_id, exec_spool_dir (spool));
            close (fd);
            exec_spool_file_done (spool, name);
            return NORC_ERROR;
        }
        done += n > 0 ? (size_t) n : 0;
    }
    log->fd = fd;
    log->spool = norc_asprintf ("%s/%s", exec_spool_dir (spool), name);
    free (log->memory);
    log->memory = NULL;
    log->memory_size = 0;
    return NORC_OK;
}

void
exec_log_write (exec_spool_t *spool, exec_log_t *log, const void *data, size_t size)
{
    if (size == 0)
        return;
    if (!log->spool && (log->written + size <= LOG_MEMORY || exec_log_spool (spool, log) != NORC_OK)) {
        if (log->written + size > log->memory_size) {
            log->memory_size = log->memory_size ? log->memory_size : 1024;
            while (log->memory_size < log->written + size)
                log->memory_size *= 2;
            log->memory = (char *) norc_realloc (log->memory, log->memory_size);
        }
        memcpy (log->memory + log->written, data, size);
        log->written += size;
        return;
    }
    const char *p = (const char *) data;
    while (size > 0) {
        ssize_t n = pwrite (log->fd, p, size, (off_t) log->written);
        if (n <= 0) {
            if (errno == EINTR)
                continue;
            norc_log_warn ("instance=%llu: cannot write the spool %s", (unsigned long long) log->instance_id,
                           log->spool);
            return;
        }
        log->written += (uint64_t) n;
        p += n;
        size -= (size_t) n;
    }
}

void
exec_log_line (exec_spool_t *spool, exec_log_t *log, const char *level, const char *fmt, ...)
{
    norc_us_t now = norc_now_us ();
    time_t secs = (time_t) (now / NORC_US_PER_SEC);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char line [4096];
    int n = snprintf (line, sizeof line, "[%04d/%02d/%02d %02d:%02d:%02d.%06d] %s: ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      (int) (now % NORC_US_PER_SEC), level);
    va_list ap;
    va_start (ap, fmt);
    int m = vsnprintf (line + n, sizeof line - (size_t) n - 1, fmt, ap);
    va_end (ap);
    n += m < 0 ? 0 : ((size_t) m >= sizeof line - (size_t) n - 1 ? (int) (sizeof line - (size_t) n - 2) : m);
    line [n++] = '\n';
    exec_log_write (spool, log, line, (size_t) n);
}

//  A new log for an instance (in memory), or one adopted from an executor
//  that died (its spool file `existing`), continued at its end.
exec_log_t *
exec_log_open (executor_t *self, uint64_t instance_id, const char *path, const char *existing)
{
    exec_log_t *log = (exec_log_t *) norc_calloc (1, sizeof (exec_log_t));
    log->instance_id = instance_id;
    char fallback [64];
    log->path = norc_strdup (path && *path ? path : norc_log_path (instance_id, fallback, sizeof fallback));
    log->fd = -1;
    if (existing) {
        log->spool = norc_strdup (existing);
        log->fd = open (log->spool, O_RDWR | O_CLOEXEC);
        struct stat st;
        if (log->fd < 0 || fstat (log->fd, &st) != 0) {
            norc_log_warn ("instance=%llu: cannot open the spool %s", (unsigned long long) instance_id, log->spool);
            void *item = log;
            exec_log_destroy (&item);
            return NULL;
        }
        log->written = (uint64_t) st.st_size;
    }
    log->opened = log->progress = norc_mono_us ();
    char key [32];
    zhashx_update (self->logs_open, executor_key (instance_id, key, sizeof key), log);
    return log;
}

//  Send what the window allows; the chunk marked eof goes out once (until
//  a resend is due).
static void
s_pump_log (executor_t *self, exec_log_t *log, char **buf)
{
    while (log->sent - log->acked < WINDOW && !log->eof_sent) {
        size_t want = (size_t) (log->written - log->sent);
        if (want == 0 && !log->eof)
            break;
        if (want > CHUNK)
            want = CHUNK;
        if (want && !*buf)
            *buf = (char *) norc_malloc (CHUNK);
        if (want && log->spool && log->fd < 0)
            log->fd = open (log->spool, O_RDONLY | O_CLOEXEC);     //  a resend after the file was closed
        ssize_t n = 0;
        if (want && !log->spool) {
            memcpy (*buf, log->memory + log->sent, want);
            n = (ssize_t) want;
        }
        else
        if (want)
            n = pread (log->fd, *buf, want, (off_t) log->sent);
        if (n < 0)
            break;
        norc_msg_t *msg = norc_msg_new (NORC_MSG_LOG_CHUNK);
        msg->log_chunk.instance_id = log->instance_id;
        msg->log_chunk.path = norc_strdup (log->path);
        msg->log_chunk.offset = log->append ? NORC_LOG_APPEND : log->sent;
        norc_bin_set (&msg->log_chunk.data, *buf, (size_t) n);
        msg->log_chunk.eof = log->eof && log->sent + (uint64_t) n == log->written;
        bool last = msg->log_chunk.eof;
        if (norc_msg_send (&msg, self->logs) != NORC_OK)
            break;
        log->sent += (uint64_t) n;
        log->progress = norc_mono_us ();
        log->eof_sent = last;
    }
    //  Everything is written and sent: the file stays, its descriptor need
    //  not (every open descriptor is copied and closed again at each spawn)
    if (log->eof_sent && log->fd >= 0) {
        close (log->fd);
        log->fd = -1;
    }
}

void
exec_log_pump_one (executor_t *self, exec_log_t *log)
{
    if (!log)
        return;
    char *buf = NULL;
    s_pump_log (self, log, &buf);
    free (buf);
}

void
exec_log_pump (executor_t *self)
{
    char *buf = NULL;
    for (exec_log_t *log = (exec_log_t *) zhashx_first (self->logs_open); log;
         log = (exec_log_t *) zhashx_next (self->logs_open))
        s_pump_log (self, log, &buf);
    free (buf);
}

int
exec_log_handle (zloop_t *loop, zsock_t *sock, void *arg)
{
    NORC_UNUSED (loop);
    executor_t *self = (executor_t *) arg;
    norc_msg_t *msg = norc_msg_recv (sock);
    if (!msg)
        return 0;
    if (msg->id == NORC_MSG_ACK) {
        char key [32];
        executor_key (msg->ack.instance_id, key, sizeof key);
        exec_log_t *log = (exec_log_t *) zhashx_lookup (self->logs_open, key);
        if (log && msg->ack.seq > log->acked) {
            log->acked = msg->ack.seq;
            log->progress = norc_mono_us ();
        }
        //  The archiver acknowledges written + 1 once the log is closed
        if (log && log->eof && log->acked > log->written) {
            //  Every spool file is in our slot (adopted ones were moved in)
            if (log->spool)
                exec_spool_file_done (self->spool, strrchr (log->spool, '/') + 1);
            zhashx_delete (self->logs_open, key);
        }
        else
            exec_log_pump_one (self, log);
    }
    norc_msg_destroy (&msg);
    return 0;
}

//  Bytes of output the archiver does not hold yet (in the spool or in
//  memory), over every log
uint64_t
exec_log_pending (executor_t *self)
{
    uint64_t pending = 0;
    for (exec_log_t *log = (exec_log_t *) zhashx_first (self->logs_open); log;
         log = (exec_log_t *) zhashx_next (self->logs_open))
        pending += log->written > log->acked ? log->written - log->acked : 0;
    return pending;
}

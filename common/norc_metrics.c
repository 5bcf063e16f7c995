//  norc_metrics.c - see norc_metrics.h. The HTTP server is GNU
//  libmicrohttpd with its own polling thread: a scrape never waits for a
//  service's loop, and the loop never waits for a scrape (one lock, held
//  for an update or to write the text).
#include "norc_metrics.h"
#include "norc_listen.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <czmq.h>
#include <stdarg.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
    double value;               //  counter, gauge
    uint64_t *counts;           //  histogram: per bucket (not cumulative), and +Inf
    double sum;
    uint64_t count;
} s_series_t;

typedef struct {
    char *name;
    norc_metric_type_t type;
    char *help;
    double *buckets;
    size_t nbuckets;
    zhashx_t *series;           //  labels -> s_series_t
} s_family_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zhashx_t *s_families;    //  name -> s_family_t
static struct MHD_Daemon *s_daemon;
static char *s_service;
static int64_t s_started;       //  wall clock, seconds

static void
s_family_destroy (void **item)
{
    s_family_t *f = (s_family_t *) *item;
    if (f) {
        zhashx_destroy (&f->series);
        free (f->name);
        free (f->help);
        free (f->buckets);
        free (f);
        *item = NULL;
    }
}

static void
s_series_destroy (void **item)
{
    s_series_t *s = (s_series_t *) *item;
    if (s) {
        free (s->counts);
        free (s);
        *item = NULL;
    }
}

void
norc_metrics_family (const char *name, norc_metric_type_t type, const char *help, const double *buckets,
                     size_t nbuckets)
{
    pthread_mutex_lock (&s_lock);
    if (!s_families) {
        s_families = zhashx_new ();
        zhashx_set_destructor (s_families, s_family_destroy);
    }
    if (!zhashx_lookup (s_families, name)) {
        s_family_t *f = (s_family_t *) norc_calloc (1, sizeof (s_family_t));
        f->name = norc_strdup (name);
        f->type = type;
        f->help = norc_strdup (help);
        if (type == NORC_METRIC_HISTOGRAM && nbuckets) {
            f->buckets = (double *) norc_calloc (nbuckets, sizeof (double));
            memcpy (f->buckets, buckets, nbuckets * sizeof (double));
            f->nbuckets = nbuckets;
        }
        f->series = zhashx_new ();
        zhashx_set_destructor (f->series, s_series_destroy);
        zhashx_insert (s_families, name, f);
    }
    pthread_mutex_unlock (&s_lock);
}

//  The series, made on first use; NULL (said once) for an undeclared family.
//  Under the lock.
static s_series_t *
s_series (const char *name, const char *labels)
{
    s_family_t *f = s_families ? (s_family_t *) zhashx_lookup (s_families, name) : NULL;
    if (!f) {
        norc_log_warnx ("metrics: %s was never declared", name);
        return NULL;
    }
    labels = labels ? labels : "";
    s_series_t *s = (s_series_t *) zhashx_lookup (f->series, labels);
    if (!s) {
        s = (s_series_t *) norc_calloc (1, sizeof (s_series_t));
        if (f->type == NORC_METRIC_HISTOGRAM)
            s->counts = (uint64_t *) norc_calloc (f->nbuckets + 1, sizeof (uint64_t));
        zhashx_insert (f->series, labels, s);
    }
    return s;
}

void
norc_metrics_add (const char *name, const char *labels, double value)
{
    pthread_mutex_lock (&s_lock);
    s_series_t *s = s_series (name, labels);
    if (s)
        s->value += value;
    pthread_mutex_unlock (&s_lock);
}

void
norc_metrics_set (const char *name, const char *labels, double value)
{
    pthread_mutex_lock (&s_lock);
    s_series_t *s = s_series (name, labels);
    if (s)
        s->value = value;
    pthread_mutex_unlock (&s_lock);
}

void
norc_metrics_observe (const char *name, const char *labels, double value)
{
    pthread_mutex_lock (&s_lock);
    s_series_t *s = s_series (name, labels);
    s_family_t *f = s ? (s_family_t *) zhashx_lookup (s_families, name) : NULL;
    if (s && f->type == NORC_METRIC_HISTOGRAM) {
        size_t b = 0;
        while (b < f->nbuckets && value > f->buckets [b])
            b++;
        s->counts [b]++;
        s->sum += value;
        s->count++;
    }
    pthread_mutex_unlock (&s_lock);
}

const char *
norc_metrics_escape (const char *value, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = value ? value : ""; *p && k + 3 < size; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n') {
            out [k++] = '\\';
            out [k++] = *p == '\n' ? 'n' : *p;
        }
        else
            out [k++] = *p;
    }
    out [k] = 0;
    return out;
}

//  --------------------------------------------------------------------------
//  The exposition

static void
s_number (zchunk_t *out, double v)
{
    char text [64];
    if (v == (double) (int64_t) v && v < 1e15 && v > -1e15)
        snprintf (text, sizeof text, "%lld", (long long) v);
    else
        snprintf (text, sizeof text, "%.17g", v);
    zchunk_extend (out, text, strlen (text));
}

static void
s_put (zchunk_t *out, const char *text)
{
    zchunk_extend (out, text, strlen (text));
}

//  name{labels[,extra]} value
static void
s_line (zchunk_t *out, const char *name, const char *suffix, const char *labels, const char *extra, double v)
{
    s_put (out, name);
    s_put (out, suffix);
    if (*labels || *extra) {
        s_put (out, "{");
        s_put (out, labels);
        if (*labels && *extra)
            s_put (out, ",");
        s_put (out, extra);
        s_put (out, "}");
    }
    s_put (out, " ");
    s_number (out, v);
    s_put (out, "\n");
}

static void
s_header (zchunk_t *out, const char *name, const char *type, const char *help)
{
    s_put (out, "# HELP ");
    s_put (out, name);
    s_put (out, " ");
    s_put (out, help);
    s_put (out, "\n# TYPE ");
    s_put (out, name);
    s_put (out, " ");
    s_put (out, type);
    s_put (out, "\n");
}

static void
s_family_text (zchunk_t *out, s_family_t *f)
{
    static const char *types [] = { "counter", "gauge", "histogram" };
    s_header (out, f->name, types [f->type], f->help);
    zlistx_t *labels = zhashx_keys (f->series);
    zlistx_set_comparator (labels, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (labels);
    for (const char *l = (const char *) zlistx_first (labels); l; l = (const char *) zlistx_next (labels)) {
        s_series_t *s = (s_series_t *) zhashx_lookup (f->series, l);
        if (f->type != NORC_METRIC_HISTOGRAM) {
            s_line (out, f->name, "", l, "", s->value);
            continue;
        }
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= f->nbuckets; b++) {
            cumulative += s->counts [b];
            char le [64];
            if (b < f->nbuckets)
                snprintf (le, sizeof le, "le=\"%g\"", f->buckets [b]);
            else
                snprintf (le, sizeof le, "le=\"+Inf\"");
            s_line (out, f->name, "_bucket", l, le, (double) cumulative);
        }
        s_line (out, f->name, "_sum", l, "", s->sum);
        s_line (out, f->name, "_count", l, "", (double) s->count);
    }
    zlistx_destroy (&labels);
}

//  The standard process_* series, read now
static void
s_process_text (zchunk_t *out)
{
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
               + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    s_header (out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    s_line (out, "process_cpu_seconds_total", "", "", "", cpu);
    long pages = 0, resident = 0;
    FILE *statm = fopen ("/proc/self/statm", "r");
    if (statm) {
        if (fscanf (statm, "%ld %ld", &pages, &resident) != 2)
            pages = resident = 0;
        fclose (statm);
    }
    long page = sysconf (_SC_PAGESIZE);
    s_header (out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    s_line (out, "process_resident_memory_bytes", "", "", "", (double) resident * page);
    s_header (out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    s_line (out, "process_virtual_memory_bytes", "", "", "", (double) pages * page);
    int fds = 0;
    DIR *dir = opendir ("/proc/self/fd");
    for (struct dirent *e; dir && (e = readdir (dir)); )
        fds += e->d_name [0] != '.';
    if (dir) {
        closedir (dir);
        fds--;                  //  the directory's own
    }
    s_header (out, "process_open_fds", "gauge", "Number of open file descriptors.");
    s_line (out, "process_open_fds", "", "", "", fds);
    struct rlimit limit;
    getrlimit (RLIMIT_NOFILE, &limit);
    s_header (out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    s_line (out, "process_max_fds", "", "", "", (double) limit.rlim_cur);
    s_header (out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    s_line (out, "process_start_time_seconds", "", "", "", (double) s_started);
}

char *
norc_metrics_text (void)
{
    zchunk_t *out = zchunk_new (NULL, 4096);
    pthread_mutex_lock (&s_lock);
    if (s_families) {
        zlistx_t *names = zhashx_keys (s_families);
        zlistx_set_comparator (names, (zlistx_comparator_fn *) strcmp);
        zlistx_sort (names);
        for (const char *n = (const char *) zlistx_first (names); n; n = (const char *) zlistx_next (names))
            s_family_text (out, (s_family_t *) zhashx_lookup (s_families, n));
        zlistx_destroy (&names);
    }
    pthread_mutex_unlock (&s_lock);
    char esc [128], labels [256];
    snprintf (labels, sizeof labels, "service=\"%s\",version=\"%s\"",
              norc_metrics_escape (s_service ? s_service : "", esc, sizeof esc), NORC_VERSION_TEXT);
    s_header (out, "norc_build_info", "gauge", "Which Norc service and version this is (always 1).");
    s_line (out, "norc_build_info", "", labels, "", 1);
    s_process_text (out);
    char *text = (char *) norc_malloc (zchunk_size (out) + 1);
    memcpy (text, zchunk_data (out), zchunk_size (out));
    text [zchunk_size (out)] = 0;
    zchunk_destroy (&out);
    return text;
}

//  --------------------------------------------------------------------------
//  The HTTP server

static enum MHD_Result
s_answer (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    NORC_UNUSED (cls);
    NORC_UNUSED (version);
    NORC_UNUSED (upload_data);
    NORC_UNUSED (state);
    int status = MHD_HTTP_OK;
    char *text;
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        text = norc_strdup ("only GET and HEAD\n");
    }
    else
    //  Framing that two parsers could read two ways is refused, whatever
    //  the library's version makes of it
    if (MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)
    &&  MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        status = MHD_HTTP_BAD_REQUEST;
        text = norc_strdup ("Content-Length with Transfer-Encoding\n");
    }
    else
    if (*upload_data_size) {
        status = MHD_HTTP_BAD_REQUEST;
        text = norc_strdup ("a body is not expected\n");
    }
    else
    if (strcmp (url, "/metrics") == 0)
        text = norc_metrics_text ();
    else {
        status = MHD_HTTP_NOT_FOUND;
        text = norc_strdup ("not found: this server has /metrics\n");
    }
    *upload_data_size = 0;
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (response, "Content-Type", status == MHD_HTTP_OK
                             ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8");
    if (status == MHD_HTTP_BAD_REQUEST)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response (connection, (unsigned int) status, response);
    MHD_destroy_response (response);
    return rc;
}

int
norc_metrics_serve (norc_config_t *config, const char *service)
{
    free (s_service);
    s_service = norc_strdup (service);
    s_started = zclock_time () / 1000;
    const char *listen = norc_config_str (config, "metrics.listen");
    if (!listen || !*listen)
        return NORC_OK;
    if (s_daemon) {
        norc_log_warnx ("metrics.listen: already serving");
        return NORC_ERROR;
    }
    struct addrinfo *found = NULL;
    char err [256];
    if (norc_listen_resolve (listen, &found, err, sizeof err) != NORC_OK) {
        norc_log_warnx ("metrics.listen: %s", err);
        return NORC_ERROR;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (found->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s_daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_answer, NULL,
                                 MHD_OPTION_SOCK_ADDR, found->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 32,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) 8,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768,
                                 MHD_OPTION_EXTERNAL_LOGGER, norc_listen_mhd_log, (void *) "metrics",
                                 MHD_OPTION_END);
    freeaddrinfo (found);
    if (!s_daemon) {
        norc_log_warn ("metrics.listen: cannot serve on %s", listen);
        return NORC_ERROR;
    }
    norc_log_info ("metrics: /metrics on %s", listen);
    return NORC_OK;
}

bool
norc_metrics_serving (void)
{
    return s_daemon != NULL;
}

void
norc_metrics_shutdown (void)
{
    if (s_daemon)
        MHD_stop_daemon (s_daemon);
    s_daemon = NULL;
    pthread_mutex_lock (&s_lock);
    zhashx_destroy (&s_families);
    pthread_mutex_unlock (&s_lock);
    free (s_service);
    s_service = NULL;
}

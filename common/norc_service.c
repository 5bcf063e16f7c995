//  norc_service.c - the common start of every service's main.
#include "norc_service.h"
#include "norc_zmq.h"
#include "norc_zap.h"
#include "norc_metrics.h"
#include "norc_log.h"
#include <malloc.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_sigfd = -1;
static int s_signals;

typedef struct {
    norc_service_signal_fn *fn;
    void *arg;
} s_watch_t;

static s_watch_t s_watch;

norc_config_t *
norc_service_init (const char *name, int *argc, char **argv, bool takes_arguments)
{
    norc_log_init (name, NORC_LOG_INFO);
    norc_config_t *config = norc_config_new ();
    if (norc_config_load (config, argc, argv))
        norc_fatalx ("configuration: %s", norc_config_errstr (config));
    if (!takes_arguments && *argc > 1)
        norc_fatalx ("unexpected argument \"%s\" (options are --KEY VALUE; see docs/configuration.md)",
                     argv [1]);
    norc_log_init (name, norc_log_level_parse (norc_config_str (config, "log.level")));
    //  Before any thread exists: every thread inherits the blocked set
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    if (sigprocmask (SIG_BLOCK, &set, NULL) != 0
    ||  (s_sigfd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        norc_fatal ("cannot take SIGTERM and SIGINT into a signalfd");
    zsys_handler_set (NULL);
    zsys_init ();
    //  CURVE, when on: this program's pair, its servers' keys, its ZAP handler
    const char *role = strcmp (name, "status-aggregator") == 0 ? "aggregator"
                     : strcmp (name, "log-archiver") == 0 ? "archiver"
                     : strcmp (name, "sqs-bridge") == 0 ? "bridge" : name;
    char err [512];
    if (norc_zap_init (config, role, err, sizeof err) != NORC_OK)
        norc_fatalx ("security.curve: %s", err);
    atexit (norc_zap_shutdown);
    //  Prometheus metrics, when metrics.listen says where
    if (norc_metrics_serve (config, role) != NORC_OK)
        norc_fatalx ("metrics.listen: cannot serve on %s", norc_config_str (config, "metrics.listen"));
    atexit (norc_metrics_shutdown);
    return config;
}

int
norc_service_signalled (void)
{
    struct signalfd_siginfo info;
    while (s_sigfd >= 0 && read (s_sigfd, &info, sizeof info) == sizeof info) {
        s_signals++;
        norc_log_info ("%s received (%d so far)", strsignal ((int) info.ssi_signo), s_signals);
    }
    return s_signals;
}

static int
s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (item);
    s_watch_t *watch = (s_watch_t *) arg;
    int before = s_signals;
    int count = norc_service_signalled ();
    int rc = 0;
    for (int i = before + 1; i <= count && rc == 0; i++)
        rc = watch->fn (watch->arg, i);
    return rc;
}

void
norc_service_on_signal (zloop_t *loop, norc_service_signal_fn *fn, void *arg)
{
    if (s_sigfd < 0)
        return;             //  not a service (a test driving the library)
    s_watch.fn = fn;
    s_watch.arg = arg;
    zmq_pollitem_t item = { NULL, s_sigfd, ZMQ_POLLIN, 0 };
    zloop_poller (loop, &item, s_on_signal, &s_watch);
}

static char *s_health_file;

static int
s_touch (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    NORC_UNUSED (arg);
    if (utimensat (AT_FDCWD, s_health_file, NULL, 0) != 0) {
        int fd = open (s_health_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close (fd);
        else
            norc_log_warn ("cannot touch %s", s_health_file);
    }
    return 0;
}

//  glibc keeps freed memory for reuse: inside its heaps (fragments that
//  are not at a heap's top) it gives nothing back on its own
static int
s_trim (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    NORC_UNUSED (arg);
    malloc_trim (0);
    return 0;
}

static int
s_warn_exposed (zloop_t *loop, int timer_id, void *arg)
{
    NORC_UNUSED (loop);
    NORC_UNUSED (timer_id);
    NORC_UNUSED (arg);
    norc_zmq_warn_exposed ();
    return 0;
}

void
norc_service_upkeep (zloop_t *loop, norc_config_t *config)
{
    zloop_timer (loop, 10000, 0, s_trim, NULL);
    zloop_timer (loop, 60000, 0, s_warn_exposed, NULL);
    const char *file = norc_config_str (config, "health.file");
    if (!*file)
        return;
    free (s_health_file);
    s_health_file = strdup (file);
    if (!s_health_file)
        return;
    s_touch (loop, 0, NULL);
    zloop_timer (loop, (size_t) norc_config_int (config, "heartbeat.period_ms"), 0, s_touch, NULL);
}

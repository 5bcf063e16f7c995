//  norc_bench_metrics - how long a Prometheus scrape of a service with many
//  series takes: SERIES counters (10,000 by default) in one family, served
//  by the same code every service uses (norc_metrics_serve on loopback),
//  scraped over HTTP with a plain socket, ROUNDS times; and, as the
//  machine's own limit in the same run, the time to copy the same number
//  of bytes in memory. Prints the median and the 95th percentile.
//
//  usage: norc_bench_metrics [SERIES] [ROUNDS]
#include "bench_sys.h"
#include "norc.h"
#include "norc_config.h"
#include "norc_metrics.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  One GET /metrics on port: the bytes of the answer, or -1
static long
s_scrape (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        close (fd);
        return -1;
    }
    const char *request = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    if (send (fd, request, strlen (request), 0) < 0) {
        close (fd);
        return -1;
    }
    char buf [65536];
    long total = 0;
    ssize_t n;
    while ((n = recv (fd, buf, sizeof buf, 0)) > 0)
        total += n;
    close (fd);
    return total;
}

int
main (int argc, char *argv [])
{
    int series = argc > 1 ? atoi (argv [1]) : 10000;
    int rounds = argc > 2 ? atoi (argv [2]) : 50;
    norc_log_init ("bench", NORC_LOG_WARN);
    int port = bench_free_port ();
    norc_config_t *config = norc_config_new ();
    char listen [64];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    norc_config_set (config, "metrics.listen", listen);
    if (norc_metrics_serve (config, "bench") != NORC_OK)
        return 1;
    norc_metrics_family ("norc_bench_ticks_total", NORC_METRIC_COUNTER, "Series made up for the benchmark.", NULL, 0);
    for (int i = 0; i < series; i++) {
        char labels [96];
        snprintf (labels, sizeof labels, "outcome=\"fired\",queue=\"q%d\",schedule=\"%d\"", i % 100, i);
        norc_metrics_add ("norc_bench_ticks_total", labels, i);
    }
    double *scrape = (double *) norc_calloc ((size_t) rounds, sizeof (double));
    double *copy = (double *) norc_calloc ((size_t) rounds, sizeof (double));
    long bytes = 0;
    for (int r = 0; r < rounds; r++) {
        norc_us_t t0 = norc_mono_us ();
        bytes = s_scrape (port);
        scrape [r] = (double) (norc_mono_us () - t0) / 1000.0;
        if (bytes < 0)
            return 1;
        //  The machine's limit: copying as many bytes in memory
        char *from = (char *) norc_malloc ((size_t) bytes), *to = (char *) norc_malloc ((size_t) bytes);
        memset (from, r, (size_t) bytes);
        t0 = norc_mono_us ();
        memcpy (to, from, (size_t) bytes);
        copy [r] = (double) (norc_mono_us () - t0) / 1000.0;
        if (to [bytes / 2] != (char) r)
            return 1;
        free (from);
        free (to);
    }
    qsort (scrape, (size_t) rounds, sizeof (double), s_cmp);
    qsort (copy, (size_t) rounds, sizeof (double), s_cmp);
    double p50 = scrape [rounds / 2], p95 = scrape [(rounds * 95) / 100 < rounds ? (rounds * 95) / 100 : rounds - 1];
    double c50 = copy [rounds / 2];
    printf ("metrics scrape: %d series, %ld bytes, %d rounds: p50 %.2f ms, p95 %.2f ms; "
            "copying the same bytes in memory: p50 %.3f ms (the scrape is %.0fx that)\n",
            series, bytes, rounds, p50, p95, c50, c50 > 0 ? p50 / c50 : 0.0);
    free (scrape);
    free (copy);
    norc_metrics_shutdown ();
    norc_config_destroy (&config);
    return 0;
}

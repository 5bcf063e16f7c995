//  norc-executor QUEUE [-c N] - the executor service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "executor.h"
#include "norc_link.h"

#define USAGE "usage: norc-executor QUEUE [-c N] [--KEY VALUE ...]\n" \
              "  QUEUE  the queue or queue group to serve\n" \
              "  -c N   run up to N instances at once (1 to 10000; default 1)\n" \
              "  --KEY VALUE  any configuration key (norcctl config keys)"

int
main (int argc, char *argv [])
{
    executor_block_sigchld ();
    norc_config_t *config = norc_service_init ("executor", &argc, argv, true);
    const char *queue = NULL;
    long concurrency = 1;
    bool concurrency_given = false, benchmark_instant = false;
    for (int i = 1; i < argc; i++) {
        if ((strcmp (argv [i], "-c") == 0 || strcmp (argv [i], "--concurrency") == 0) && i + 1 < argc) {
            char *end;
            concurrency = strtol (argv [++i], &end, 10);
            concurrency_given = true;
            if (*end || concurrency < 1 || concurrency > 10000)
                norc_fatalx ("-c needs a number of slots from 1 to 10000");
        }
        else
        if (strcmp (argv [i], "-h") == 0 || strcmp (argv [i], "--help") == 0) {
            printf ("%s\n", USAGE);
            norc_config_destroy (&config);
            return 0;
        }
        else
        if (strcmp (argv [i], "--benchmark-instant") == 0)
            benchmark_instant = true;
        else
        if (argv [i][0] == '-')
            norc_fatalx ("unknown option %s\n%s", argv [i], USAGE);
        else
        if (!queue)
            queue = argv [i];
        else
            norc_fatalx ("one queue or group only\n%s", USAGE);
    }
    if (!queue)
        norc_fatalx ("no queue given\n%s", USAGE);
    if (norc_link_admission (config) != NORC_OK) {
        norc_config_destroy (&config);
        return 0;
    }
    if (!concurrency_given)
        norc_log_warnx ("no -c given: running one instance at a time (norc-executor %s -c N for N at once)", queue);
    executor_t *executor = executor_new (config, queue, (int) concurrency);
    if (benchmark_instant)
        executor_set_benchmark_instant (executor);
    if (executor_start (executor)) {
        executor_destroy (&executor);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    executor_run (executor);
    executor_destroy (&executor);
    norc_config_destroy (&config);
    return 0;
}

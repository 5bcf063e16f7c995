//  norc-scheduler - the scheduler service.
#include "norc.h"
#include "norc_config.h"
#include "norc_log.h"
#include "scheduler.h"
#include <czmq.h>

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_config_new ();
    if (norc_config_load (config, &argc, argv))
        norc_fatalx ("configuration: %s", norc_config_errstr (config));
    if (argc > 1)
        norc_fatalx ("unexpected argument \"%s\" (options are --KEY VALUE; see docs/configuration.md)", argv [1]);
    norc_log_init ("scheduler", norc_log_level_parse (norc_config_str (config, "log.level")));
    zsys_init ();
    scheduler_t *scheduler = scheduler_new (config);
    if (scheduler_start (scheduler)) {
        scheduler_destroy (&scheduler);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    scheduler_run (scheduler);
    scheduler_destroy (&scheduler);
    norc_config_destroy (&config);
    return 0;
}

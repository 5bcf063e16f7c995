//  norc-scheduler - the scheduler service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "scheduler.h"

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_service_init ("scheduler", &argc, argv, false);
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

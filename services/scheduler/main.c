//  norc-scheduler - the scheduler service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "norc_store.h"
#include "scheduler.h"

int
main (int argc, char *argv [])
{
    //  Under CURVE its ZAP handler reads the registry of principals from MySQL
    norc_zap_use_store (norc_store_zap_source ());
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

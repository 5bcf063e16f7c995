//  norc-aggregator - the status-aggregator service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "aggregator.h"

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_service_init ("status-aggregator", &argc, argv, false);
    aggregator_t *aggregator = aggregator_new (config);
    if (aggregator_start (aggregator)) {
        aggregator_destroy (&aggregator);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    aggregator_run (aggregator);
    aggregator_destroy (&aggregator);
    norc_config_destroy (&config);
    return 0;
}

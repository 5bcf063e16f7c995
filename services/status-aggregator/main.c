//  norc-aggregator - the status-aggregator service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "norc_store.h"
#include "aggregator.h"

int
main (int argc, char *argv [])
{
    //  Under CURVE its ZAP handler reads the registry of principals from MySQL
    norc_zap_use_store (norc_store_zap_source ());
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

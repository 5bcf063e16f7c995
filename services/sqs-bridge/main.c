//  norc-sqs-bridge - carries an sqs queue's instances across sites (docs/sqs.md).
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "norc_link.h"
#include "bridge.h"

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_service_init ("sqs-bridge", &argc, argv, false);
    if (norc_link_admission (config) != NORC_OK) {
        norc_config_destroy (&config);
        return 0;
    }
    bridge_t *bridge = bridge_new (config);
    if (bridge_start (bridge)) {
        bridge_destroy (&bridge);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    bridge_run (bridge);
    bridge_destroy (&bridge);
    norc_config_destroy (&config);
    return 0;
}

//  norc-archiver - the log-archiver service.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "archiver.h"

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_service_init ("log-archiver", &argc, argv, false);
    archiver_t *archiver = archiver_new (config);
    if (archiver_start (archiver)) {
        archiver_destroy (&archiver);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    archiver_run (archiver);
    archiver_destroy (&archiver);
    norc_config_destroy (&config);
    return 0;
}

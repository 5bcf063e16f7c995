//  norc_service.c - the common start of every service's main.
#include "norc_service.h"
#include "norc_log.h"
#include <czmq.h>

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
    zsys_init ();
    return config;
}

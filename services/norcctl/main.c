//  norcctl - the Norc command line.
#include "norc.h"
#include "norc_config.h"
#include "norc_log.h"
#include "ctl_cmd.h"
#include <czmq.h>

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_config_new ();
    //  A CLI speaks on stdout/stderr itself; only warnings from the layers
    norc_config_set (config, "log.level", "warn");
    if (norc_config_load (config, &argc, argv)) {
        fprintf (stderr, "norcctl: %s\n", norc_config_errstr (config));
        norc_config_destroy (&config);
        return CTL_USAGE;
    }
    norc_log_init ("norcctl", norc_log_level_parse (norc_config_str (config, "log.level")));
    zsys_init ();
    int rc = ctl_cmd_run (config, argc - 1, argv + 1);
    norc_config_destroy (&config);
    return rc;
}

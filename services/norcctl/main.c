//  norcctl - the Norc command line.
#include "norc.h"
#include "norc_config.h"
#include "norc_log.h"
#include "ctl_cmd.h"
#include "norc_zap.h"
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
    char err [512];
    //  A command that works on this host alone needs no key (so a
    //  container's health check and the making of keys work with CURVE on)
    if (ctl_cmd_talks (argc - 1, argv + 1) && norc_zap_init (config, "norcctl", err, sizeof err) != NORC_OK) {
        fprintf (stderr, "norcctl: security.curve: %s\n", err);
        norc_config_destroy (&config);
        return 1;
    }
    int rc = ctl_cmd_run (config, argc - 1, argv + 1);
    norc_zap_shutdown ();
    norc_config_destroy (&config);
    return rc;
}

//  norc-web - the API over HTTP and the page.
#include "norc.h"
#include "norc_service.h"
#include "norc_log.h"
#include "web.h"

int
main (int argc, char *argv [])
{
    norc_config_t *config = norc_service_init ("web", &argc, argv, false);
    web_t *web = web_new (config);
    if (web_start (web)) {
        web_destroy (&web);
        norc_config_destroy (&config);
        norc_fatalx ("cannot start");
    }
    web_run (web);
    web_destroy (&web);
    norc_config_destroy (&config);
    return 0;
}

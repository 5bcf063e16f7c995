//  norc_service.h - what every service's main does first: load the
//  configuration (file, environment, flags), start logging under the
//  service's name, start czmq.
#ifndef NORC_SERVICE_H_INCLUDED
#define NORC_SERVICE_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

//  The configuration for service `name`. Exits with a message naming the
//  bad key or value, or an argument left over when the service takes none
//  (takes_arguments false). Caller owns the result.
norc_config_t *norc_service_init (const char *name, int *argc, char **argv, bool takes_arguments);

#endif

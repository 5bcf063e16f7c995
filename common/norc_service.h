//  norc_service.h - what every service's main does first: load the
//  configuration (file, environment, flags), start logging under the
//  service's name, start czmq, and take SIGTERM and SIGINT into the loop.
//
//  Signals: norc_service_init blocks SIGTERM and SIGINT before czmq starts
//  its threads, so no thread is ever interrupted by them; they are read
//  from a signalfd instead. The service's loop learns of each one through
//  norc_service_on_signal and decides what it means (the first drains, a
//  second one stops at once: the container convention). Startup loops that
//  run before the service's loop ask norc_service_signalled().
#ifndef NORC_SERVICE_H_INCLUDED
#define NORC_SERVICE_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include <czmq.h>

//  The configuration for service `name`. Exits with a message naming the
//  bad key or value, or an argument left over when the service takes none
//  (takes_arguments false). Caller owns the result.
norc_config_t *norc_service_init (const char *name, int *argc, char **argv, bool takes_arguments);

//  How many SIGTERM/SIGINT the service has received so far (reads any that
//  are pending; never blocks).
int norc_service_signalled (void);

//  Called from the loop with the number of signals received so far (1 for
//  the first). Returns -1 to end the loop, 0 to keep it running.
typedef int (norc_service_signal_fn) (void *arg, int count);

//  Watch for SIGTERM/SIGINT on `loop`.
void norc_service_on_signal (zloop_t *loop, norc_service_signal_fn *fn, void *arg);

//  A service's upkeep on `loop`: when health.file is set, touch it now and
//  every heartbeat period, so `norcctl health` can tell a live loop from a
//  stuck one; and every 10 s give the memory freed since back to the
//  system (malloc_trim), so that what a flood took (a peer's 100,000
//  subscriptions, a burst of frames) is not held for ever.
void norc_service_upkeep (zloop_t *loop, norc_config_t *config);

#endif

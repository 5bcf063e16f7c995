//  aggregator.h - the status-aggregator: Norc's control plane. Applies
//  lifecycle events to MySQL in batched transactions and acknowledges each
//  after commit; tracks heartbeats and marks silent daemons dead; publishes
//  the public event stream; serves norcctl's API.
#ifndef AGGREGATOR_H_INCLUDED
#define AGGREGATOR_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef struct _aggregator_t aggregator_t;

//  An aggregator with this configuration (not owned; must outlive it).
aggregator_t *aggregator_new (norc_config_t *config);
void          aggregator_destroy (aggregator_t **self_p);

//  Migrate the database, bind the sockets. NORC_ERROR with the reason
//  logged when the service cannot start.
int  aggregator_start (aggregator_t *self);

//  Serve until interrupted (SIGINT/SIGTERM).
void aggregator_run (aggregator_t *self);

#endif

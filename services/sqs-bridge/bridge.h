//  bridge.h - norc-sqs-bridge: carries the instances of one sqs queue
//  across sites through Amazon SQS (docs/sqs.md). On the site that makes
//  them it takes the queue's instances from the dispatching scheduler as
//  an executor would and sends each as an SQS-TICK; on a site that runs
//  them it receives the ticks (never more than its executors have free
//  slots), claims each from the control plane, hands the claimed run to
//  one of its executors, and deletes the message once the run has started.
//  One process may do both.
#ifndef BRIDGE_H_INCLUDED
#define BRIDGE_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef struct _bridge_t bridge_t;

bridge_t *bridge_new (norc_config_t *config);
void bridge_destroy (bridge_t **self_p);
//  Register, learn the queue's URL, open the sockets. NORC_OK or NORC_ERROR (logged).
int bridge_start (bridge_t *self);
void bridge_run (bridge_t *self);

#endif

//  scheduler.h - the scheduler: claims schedules through leases, fires
//  their ticks from a timer heap, writes each tick's instance with the
//  schedule's next state in one transaction, and dispatches waiting
//  instances to executors that granted credits.
#ifndef SCHEDULER_H_INCLUDED
#define SCHEDULER_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef struct _scheduler_t scheduler_t;

scheduler_t *scheduler_new (norc_config_t *config);
void         scheduler_destroy (scheduler_t **self_p);
//  Connect, register, bind, rebuild the waiting queues. NORC_ERROR when
//  the service cannot start (logged).
int          scheduler_start (scheduler_t *self);
//  Serve until interrupted; then release the leases and record ENDED.
void         scheduler_run (scheduler_t *self);

#endif

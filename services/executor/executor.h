//  executor.h - the executor: runs instances from one queue or group, up to
//  its concurrency, each in its own process group; streams their output to
//  the log-archiver through a disk spool; reports every start and end.
#ifndef EXECUTOR_H_INCLUDED
#define EXECUTOR_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef struct _executor_t executor_t;

//  An executor for queue (or group) with this many slots.
executor_t *executor_new (norc_config_t *config, const char *queue, int concurrency);
void        executor_destroy (executor_t **self_p);
//  Register with the aggregator, connect. NORC_ERROR (logged) when it
//  cannot start, e.g. the queue is unknown.
int         executor_start (executor_t *self);
//  Serve until interrupted; running instances are then stopped.
void        executor_run (executor_t *self);

//  Benchmark only (--benchmark-instant): every assigned instance is reported
//  STARTED and SUCCESS at once and nothing is run. Measures Norc's own
//  pipeline; never used to stand in for real execution.
void        executor_set_benchmark_instant (executor_t *self);

//  Call first thing in main, before any thread exists: blocks SIGCHLD so
//  the loop can take it from a signalfd.
void        executor_block_sigchld (void);

#endif

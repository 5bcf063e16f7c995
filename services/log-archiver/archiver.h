//  archiver.h - the log-archiver: writes one log per instance from the
//  chunks executors send, acknowledges what it holds, and serves logs to
//  readers, live while they grow.
#ifndef ARCHIVER_H_INCLUDED
#define ARCHIVER_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

typedef struct _archiver_t archiver_t;

archiver_t *archiver_new (norc_config_t *config);
void        archiver_destroy (archiver_t **self_p);
int         archiver_start (archiver_t *self);
void        archiver_run (archiver_t *self);

#endif

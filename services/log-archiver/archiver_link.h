//  archiver_link.h - the log-archiver as a daemon of the record, as every
//  other one is (norc_link.h): registered through the status-aggregator,
//  alive by its heartbeat, which carries its backlog (the logs it owes
//  S3: norcctl status archivers), and stopped or killed by a control
//  request.
#ifndef ARCHIVER_LINK_H_INCLUDED
#define ARCHIVER_LINK_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include "archiver_s3.h"

typedef struct _archiver_link_t archiver_link_t;

//  Registered (waiting for the aggregator as any daemon does), its reader
//  and heartbeat on loop; a STOP or KILL ends the loop. s3 may be NULL (no
//  backlog). NULL when it could not register.
archiver_link_t *archiver_link_new (norc_config_t *config, zloop_t *loop, archiver_s3_t *s3);

//  Report the final status (ENDED, or KILLED when asked to be) and let go
void archiver_link_destroy (archiver_link_t **self_p);

#endif

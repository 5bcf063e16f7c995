//  archiver_s3.h - the log-archiver's copy of each log in Amazon S3
//  (docs/logs.md), off its loop: two threads of their own, each with its
//  own AWS session, so that no S3 request ever holds the chunks of a
//  running instance or a reader.
//
//  The uploader copies each finished log once: one PutObject with
//  If-None-Match: * for a log of at most one part, a multipart upload for
//  a larger one, its parts sent while the instance still runs. What it
//  owes is on disk under log.dir/s3/pending/<id>: a mark made with the
//  log's end (and synced with it), holding the multipart upload's state
//  (its id, each part's ETag) after each part, so that an archiver that
//  restarts goes on from the next part. The log's SHA-256 goes in the
//  object's metadata and, through the aggregator (instance.archived), in
//  the record; then the mark is removed (or, with a local retention, moved
//  to log.dir/s3/done/<id>, whose age says when the local copy may go).
//
//  The reader answers a fetch for a log whose local copy is gone (or one
//  that asks for the archive) from the object, by byte range.
#ifndef ARCHIVER_S3_H_INCLUDED
#define ARCHIVER_S3_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include "norc_msg.h"
#include <czmq.h>

typedef struct _archiver_s3_t archiver_s3_t;

//  NULL when archiver.s3_bucket is empty (nothing to copy) or when S3
//  cannot be used (*failed set, the reason logged: no region, no
//  credentials, a wrong setting).
archiver_s3_t *archiver_s3_new (norc_config_t *config, const char *dir, bool *failed);
void archiver_s3_destroy (archiver_s3_t **self_p);

//  The part size: a log being written is announced each time it grows by
//  this much, and a log larger than it is uploaded in parts.
uint64_t archiver_s3_part_bytes (archiver_s3_t *self);

//  A log being written holds size bytes (its parts may go now)
void archiver_s3_grew (archiver_s3_t *self, uint64_t instance_id, uint64_t size);

//  A log is complete: make its mark (before the sync that makes the log
//  durable), then tell the uploader (after it)
int  archiver_s3_mark (archiver_s3_t *self, uint64_t instance_id);
void archiver_s3_closed (archiver_s3_t *self, uint64_t instance_id);

//  Whether a log is still owed to S3 (its local copy must stay)
bool archiver_s3_owed (archiver_s3_t *self, uint64_t instance_id);

//  log.max_bytes removed a log before it was copied: it is not owed any more
void archiver_s3_forget (archiver_s3_t *self, uint64_t instance_id);

//  Answer a reader from the object (the answer comes on archiver_s3_socket)
void archiver_s3_fetch (archiver_s3_t *self, zframe_t *routing_id, const norc_log_fetch_t *fetch);

//  The socket the reader's answers come on, and one answer from it: a
//  LOG-DATA with its routing id, to send to the reader (NULL: none)
zsock_t    *archiver_s3_socket (archiver_s3_t *self);
norc_msg_t *archiver_s3_answer (archiver_s3_t *self);

//  Remove the local copies archived more than archiver.local_retention_s
//  ago; the bytes removed are returned (the caller's count of what it holds)
uint64_t archiver_s3_expire (archiver_s3_t *self);

//  Logs owed to S3, as the uploader last counted them
int archiver_s3_backlog (archiver_s3_t *self);

//  The object key of an instance's log (caller frees)
char *archiver_s3_key (const char *prefix, uint64_t instance_id);

#endif

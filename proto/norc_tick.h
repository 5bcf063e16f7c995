//  norc_tick.h - the SQS-TICK that carries an instance of an sqs queue across
//  sites as an SQS message's body (msgpack, in base64), and the digest of
//  the definition its run must have. The message names the run and never
//  says what to run: the receiving bridge claims the instance and runs
//  what the claim returns, checked against this digest (docs/sqs.md).
#ifndef NORC_TICK_H_INCLUDED
#define NORC_TICK_H_INCLUDED
#include "norc_msg.h"

//  The longest body an SQS-TICK makes, in base64 (every string at its cap):
//  far below SQS's smallest MaximumMessageSize (1 KiB is its minimum
//  setting; 256 KiB its default), so no task can be too large to send.
#define NORC_TICK_BODY_MAX 2048

//  SHA-256, in hex, of what a run executes: the command, the working
//  directory, the timeout, the log's cap and the environment (in the
//  order of its names), as one msgpack array. Two definitions that run
//  alike have one digest; any change in one of these makes another.
void norc_tick_digest (const char *command, const char *cwd, int timeout_s, int64_t log_max_bytes,
                       const norc_strmap_t *env, char hex [65]);

//  A TICK as an SQS message body: its msgpack in base64 (a heap string),
//  or NULL when msg is not an SQS-TICK.
char *norc_tick_encode (const norc_msg_t *msg);

//  An SQS message body read back: an SQS-TICK, or NULL with *why set (not
//  base64, not a message, another message than SQS-TICK, no instance or no
//  digest). A body that does not decode is poison: never run, never
//  deleted by Norc.
norc_msg_t *norc_tick_decode (const char *body, size_t len, const char **why);

//  A disconnected site's message (an SQS-RETURN or an SQS-REPLY) as an
//  SQS message's body: its msgpack sealed from the writer's secret key to
//  the reader's public key (norc_seal), a heap string; NULL when msg is
//  neither.
char *norc_site_encode (const norc_msg_t *msg, const uint8_t *writer_secret, const uint8_t *reader_public);

//  A site's body read back: the message, of type `expect` (NORC_MSG_SQS_
//  RETURN or NORC_MSG_SQS_REPLY), or NULL with *why set (too long, does
//  not open with these keys: another writer, another reader, or changed;
//  not a message; another type). Such a body is poison, as a tick's.
norc_msg_t *norc_site_decode (const char *body, int expect, const uint8_t *reader_secret,
                              const uint8_t *writer_public, const char **why);

//  The longest body a site's message makes (a log chunk of 160 KiB,
//  sealed, in base64): under SQS's 256 KiB
#define NORC_SITE_BODY_MAX (256 * 1024)

#endif

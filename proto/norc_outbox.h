//  norc_outbox.h - messages that must not be lost: each gets a sequence
//  number, is kept until the peer acknowledges it (ACK with that number),
//  and is sent again every resend period until then. The peer applies
//  messages idempotently, so a resend after a lost ACK is harmless.
#ifndef NORC_OUTBOX_H_INCLUDED
#define NORC_OUTBOX_H_INCLUDED
#include "norc_msg.h"

typedef struct _norc_outbox_t norc_outbox_t;

//  An outbox sending on sock (not owned), resending after resend_ms.
norc_outbox_t *norc_outbox_new (zsock_t *sock, int resend_ms);
void           norc_outbox_destroy (norc_outbox_t **self_p);

//  Give the message a sequence number (its `seq` field), keep it, send it.
//  Always consumes *msg_p. Returns the sequence number.
uint64_t norc_outbox_send (norc_outbox_t *self, norc_msg_t **msg_p);

//  The same, with a tag (non-zero) handed to the on_acked callback once
//  the peer holds the message: what the sender may let go of then.
uint64_t norc_outbox_send_tagged (norc_outbox_t *self, norc_msg_t **msg_p, uint64_t tag);

//  Called with a tagged message's tag when its acknowledgement comes.
typedef void (norc_outbox_acked_fn) (void *arg, uint64_t tag);
void     norc_outbox_on_acked (norc_outbox_t *self, norc_outbox_acked_fn *fn, void *arg);

//  The peer holds seq: forget it. Unknown numbers are ignored.
void     norc_outbox_ack (norc_outbox_t *self, uint64_t seq);

//  An ACK message: forget its seq and every one in its `more` list.
void     norc_outbox_ack_all (norc_outbox_t *self, const norc_ack_t *ack);

//  Send again what is older than the resend period. Call from a timer.
//  Returns how many were sent again.
size_t   norc_outbox_resend (norc_outbox_t *self);

//  Messages not acknowledged yet.
size_t   norc_outbox_pending (norc_outbox_t *self);

//  True when this message type carries a `seq` field (and so can be sent
//  through an outbox).
bool     norc_outbox_accepts (const norc_msg_t *msg);

#endif

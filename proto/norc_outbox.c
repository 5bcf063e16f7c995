//  norc_outbox.c - at-least-once delivery on top of a DEALER socket. The
//  encoded frame is kept, so a resend costs no encoding. Sequence numbers
//  start at the wall clock in microseconds, so a restarted sender never
//  reuses one its peer might still acknowledge.
//
//  Every operation costs the same however many messages wait: the entries
//  are indexed by sequence number (an acknowledgement is one hash look-up,
//  in or out of order, known or not) and listed in the order they were
//  last sent (a resend takes the due ones from the head and moves each to
//  the tail, so it never walks past the first one not due). An executor
//  reporting tens of thousands of ends a second holds that many here.
#include "norc_outbox.h"
#include "norc_mem.h"
#include "norc_log.h"

typedef struct {
    uint64_t seq;
    uint64_t tag;           //  for on_acked (0: none)
    norc_us_t sent_at;      //  monotonic
    zframe_t *frame;        //  the encoded message
} s_entry_t;

struct _norc_outbox_t {
    zsock_t *sock;          //  not owned
    norc_us_t resend_us;
    uint64_t next_seq;
    zlistx_t *entries;      //  s_entry_t, least recently sent first
    zhashx_t *index;        //  &entry->seq -> the entry's handle in entries
    norc_outbox_acked_fn *on_acked;
    void *on_acked_arg;
};

static size_t
s_seq_hash (const void *key)
{
    uint64_t seq = *(const uint64_t *) key;
    return (size_t) (seq ^ (seq >> 29));
}

static int
s_seq_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void
s_entry_destroy (void **item)
{
    s_entry_t *entry = (s_entry_t *) *item;
    if (entry) {
        zframe_destroy (&entry->frame);
        free (entry);
        *item = NULL;
    }
}

norc_outbox_t *
norc_outbox_new (zsock_t *sock, int resend_ms)
{
    norc_outbox_t *self = (norc_outbox_t *) norc_calloc (1, sizeof (norc_outbox_t));
    self->sock = sock;
    self->resend_us = (norc_us_t) resend_ms * 1000;
    self->next_seq = (uint64_t) norc_now_us ();
    self->entries = zlistx_new ();
    zlistx_set_destructor (self->entries, s_entry_destroy);
    //  Keys point into the entries (not copied, not freed by the index)
    self->index = zhashx_new ();
    zhashx_set_key_hasher (self->index, s_seq_hash);
    zhashx_set_key_comparator (self->index, s_seq_compare);
    zhashx_set_key_duplicator (self->index, NULL);
    zhashx_set_key_destructor (self->index, NULL);
    return self;
}

void
norc_outbox_destroy (norc_outbox_t **self_p)
{
    if (self_p && *self_p) {
        zhashx_destroy (&(*self_p)->index);
        zlistx_destroy (&(*self_p)->entries);
        free (*self_p);
        *self_p = NULL;
    }
}

static uint64_t *
s_seq_field (norc_msg_t *msg)
{
    switch (msg->id) {
        case NORC_MSG_INSTANCE_CREATED: return &msg->instance_created.seq;
        case NORC_MSG_INSTANCE_STARTED: return &msg->instance_started.seq;
        case NORC_MSG_INSTANCE_ENDED:   return &msg->instance_ended.seq;
        case NORC_MSG_TICK_SKIPPED:     return &msg->tick_skipped.seq;
        case NORC_MSG_DAEMON_STATUS:    return &msg->daemon_status.seq;
        default:                        return NULL;
    }
}

bool
norc_outbox_accepts (const norc_msg_t *msg)
{
    return s_seq_field ((norc_msg_t *) msg) != NULL;
}

static void
s_transmit (norc_outbox_t *self, s_entry_t *entry)
{
    zframe_t *copy = zframe_dup (entry->frame);
    //  Never block the loop: a full pipe just means "resend later"
    if (zframe_send (&copy, self->sock, ZFRAME_DONTWAIT) != 0)
        zframe_destroy (&copy);
    entry->sent_at = norc_mono_us ();
}

uint64_t
norc_outbox_send (norc_outbox_t *self, norc_msg_t **msg_p)
{
    return norc_outbox_send_tagged (self, msg_p, 0);
}

void
norc_outbox_on_acked (norc_outbox_t *self, norc_outbox_acked_fn *fn, void *arg)
{
    self->on_acked = fn;
    self->on_acked_arg = arg;
}

uint64_t
norc_outbox_send_tagged (norc_outbox_t *self, norc_msg_t **msg_p, uint64_t tag)
{
    norc_msg_t *msg = *msg_p;
    uint64_t *seq = s_seq_field (msg);
    assert (seq);
    *seq = self->next_seq++;
    norc_buf_t *buf = norc_buf_new (NORC_MSG_MAX);
    uint64_t result = *seq;
    if (norc_msg_encode (msg, buf) == NORC_OK) {
        s_entry_t *entry = (s_entry_t *) norc_calloc (1, sizeof (s_entry_t));
        entry->seq = result;
        entry->tag = tag;
        entry->frame = zframe_new (norc_buf_data (buf), norc_buf_size (buf));
        zhashx_insert (self->index, &entry->seq, zlistx_add_end (self->entries, entry));
        s_transmit (self, entry);
    }
    else
        norc_log_error ("cannot encode %s for the outbox", norc_msg_name (msg));
    norc_buf_destroy (&buf);
    norc_msg_destroy (msg_p);
    return result;
}

void
norc_outbox_ack (norc_outbox_t *self, uint64_t seq)
{
    void *handle = zhashx_lookup (self->index, &seq);
    if (handle) {
        s_entry_t *entry = (s_entry_t *) zlistx_handle_item (handle);
        if (entry->tag && self->on_acked)
            self->on_acked (self->on_acked_arg, entry->tag);
        zhashx_delete (self->index, &seq);
        zlistx_delete (self->entries, handle);
    }
}

void
norc_outbox_ack_all (norc_outbox_t *self, const norc_ack_t *ack)
{
    norc_outbox_ack (self, ack->seq);
    for (size_t i = 0; i < ack->more.count; i++)
        norc_outbox_ack (self, ack->more.items [i]);
}

size_t
norc_outbox_resend (norc_outbox_t *self)
{
    norc_us_t cutoff = norc_mono_us () - self->resend_us;
    size_t count = 0;
    //  A bounded batch per call: a slow peer is not flooded with resends
    while (count < 1000) {
        s_entry_t *entry = (s_entry_t *) zlistx_first (self->entries);
        if (!entry || entry->sent_at > cutoff)
            break;
        s_transmit (self, entry);
        zlistx_move_end (self->entries, zlistx_cursor (self->entries));
        count++;
    }
    return count;
}

size_t
norc_outbox_pending (norc_outbox_t *self)
{
    return zlistx_size (self->entries);
}

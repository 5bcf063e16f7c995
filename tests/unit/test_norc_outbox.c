//  Unit tests: the outbox keeps messages until acknowledged and resends
//  them, over real sockets, including a peer that restarts.
#include <criterion/criterion.h>
#include <unistd.h>
#include "norc_outbox.h"
#include "norc_log.h"
#include "norc_zmq.h"

static norc_msg_t *
s_event (uint64_t instance)
{
    norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_STARTED);
    msg->instance_started.instance_id = instance;
    return msg;
}

Test (norc_outbox, keeps_until_acked_and_resends)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *peer = norc_zmq_bind (ZMQ_ROUTER, "inproc://outbox");
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, "inproc://outbox");
    norc_outbox_t *outbox = norc_outbox_new (sender, 50);
    norc_msg_t *m1 = s_event (1), *m2 = s_event (2);
    cr_expect (norc_outbox_accepts (m1));
    uint64_t s1 = norc_outbox_send (outbox, &m1);
    uint64_t s2 = norc_outbox_send (outbox, &m2);
    cr_expect_null (m1);
    cr_expect_eq (s2, s1 + 1);
    cr_expect_eq (norc_outbox_pending (outbox), 2);
    norc_msg_t *got = norc_msg_recv (peer);
    cr_assert_not_null (got);
    cr_expect_eq (got->instance_started.seq, s1);
    cr_expect_eq (got->instance_started.instance_id, 1);
    norc_msg_destroy (&got);
    got = norc_msg_recv (peer);
    norc_msg_destroy (&got);
    //  Only the first is acknowledged; the second comes again
    norc_outbox_ack (outbox, s1);
    norc_outbox_ack (outbox, 12345);
    cr_expect_eq (norc_outbox_pending (outbox), 1);
    cr_expect_eq (norc_outbox_resend (outbox), 0, "too early");
    usleep (60000);
    cr_expect_eq (norc_outbox_resend (outbox), 1);
    got = norc_msg_recv (peer);
    cr_assert_not_null (got);
    cr_expect_eq (got->instance_started.seq, s2);
    cr_expect_eq (got->instance_started.instance_id, 2);
    norc_msg_destroy (&got);
    norc_outbox_ack (outbox, s2);
    cr_expect_eq (norc_outbox_pending (outbox), 0);
    norc_msg_t *heartbeat = norc_msg_new (NORC_MSG_HEARTBEAT);
    cr_expect (!norc_outbox_accepts (heartbeat));
    norc_msg_destroy (&heartbeat);
    norc_outbox_destroy (&outbox);
    zsock_destroy (&sender);
    zsock_destroy (&peer);
}

Test (norc_outbox, one_ack_message_acknowledges_a_list)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *peer = norc_zmq_bind (ZMQ_ROUTER, "inproc://outbox-list");
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, "inproc://outbox-list");
    norc_outbox_t *outbox = norc_outbox_new (sender, 50);
    uint64_t seq [4];
    for (int i = 0; i < 4; i++) {
        norc_msg_t *m = s_event ((uint64_t) i + 1);
        seq [i] = norc_outbox_send (outbox, &m);
    }
    //  An ACK as the aggregator sends it, through the codec: the first,
    //  then the third and the fourth in its list
    norc_msg_t *ack = norc_msg_new (NORC_MSG_ACK);
    ack->ack.seq = seq [0];
    norc_u64list_append (&ack->ack.more, seq [2]);
    norc_u64list_append (&ack->ack.more, seq [3]);
    zsock_t *in = norc_zmq_bind (ZMQ_PULL, "inproc://outbox-ack");
    zsock_t *out = norc_zmq_connect (ZMQ_PUSH, "inproc://outbox-ack");
    cr_assert_eq (norc_msg_send (&ack, out), NORC_OK);
    norc_msg_t *got = norc_msg_recv (in);
    cr_assert_not_null (got);
    cr_assert_eq (got->ack.more.count, 2);
    norc_outbox_ack_all (outbox, &got->ack);
    norc_msg_destroy (&got);
    cr_expect_eq (norc_outbox_pending (outbox), 1, "only the second is left");
    usleep (60000);
    cr_expect_eq (norc_outbox_resend (outbox), 1);
    zsock_destroy (&in);
    zsock_destroy (&out);
    norc_outbox_destroy (&outbox);
    zsock_destroy (&sender);
    zsock_destroy (&peer);
}

Test (norc_outbox, survives_a_peer_restart_over_tcp)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *peer = norc_zmq_bind (ZMQ_ROUTER, "tcp://127.0.0.1:*");
    cr_assert_not_null (peer);
    char *endpoint = zsock_last_endpoint (peer);
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, endpoint);
    norc_outbox_t *outbox = norc_outbox_new (sender, 100);
    norc_msg_t *m = s_event (7);
    uint64_t seq = norc_outbox_send (outbox, &m);
    zsock_set_rcvtimeo (peer, 2000);
    norc_msg_t *got = norc_msg_recv (peer);
    cr_assert_not_null (got);
    norc_msg_destroy (&got);
    //  The peer dies before acknowledging, and comes back
    zsock_destroy (&peer);
    //  ZeroMQ frees the port in its own thread: the new bind may wait a little
    for (int i = 0; i < 100 && !peer; i++) {
        peer = norc_zmq_bind (ZMQ_ROUTER, endpoint);
        if (!peer)
            zclock_sleep (20);
    }
    cr_assert_not_null (peer);
    zsock_set_rcvtimeo (peer, 200);
    got = NULL;
    for (int i = 0; i < 50 && !got; i++) {
        norc_outbox_resend (outbox);
        got = norc_msg_recv (peer);
    }
    cr_assert_not_null (got, "resent to the new peer");
    cr_expect_eq (got->instance_started.seq, seq);
    norc_msg_destroy (&got);
    zstr_free (&endpoint);
    norc_outbox_destroy (&outbox);
    zsock_destroy (&sender);
    zsock_destroy (&peer);
}

//  Acknowledgements in any order, twice, or for numbers never sent; and a
//  resend takes the due messages in the order they were last sent
Test (norc_outbox, acks_in_any_order_and_resends_in_send_order)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *peer = norc_zmq_bind (ZMQ_ROUTER, "inproc://outbox-order");
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, "inproc://outbox-order");
    norc_outbox_t *outbox = norc_outbox_new (sender, 30);
    uint64_t seq [5];
    for (int i = 0; i < 5; i++) {
        norc_msg_t *m = s_event ((uint64_t) i + 1);
        seq [i] = norc_outbox_send (outbox, &m);
    }
    norc_outbox_ack (outbox, seq [2]);
    norc_outbox_ack (outbox, seq [0]);
    norc_outbox_ack (outbox, seq [2]);
    norc_outbox_ack (outbox, seq [4] + 100);
    cr_expect_eq (norc_outbox_pending (outbox), 3);
    usleep (40000);
    cr_expect_eq (norc_outbox_resend (outbox), 3);
    cr_expect_eq (norc_outbox_resend (outbox), 0, "each is due again a period after it was sent again");
    //  The peer got the five, then 2, 4 and 5 again, in that order
    uint64_t want [] = { 1, 2, 3, 4, 5, 2, 4, 5 };
    for (size_t i = 0; i < sizeof want / sizeof want [0]; i++) {
        norc_msg_t *got = norc_msg_recv (peer);
        cr_assert_not_null (got);
        cr_expect_eq (got->instance_started.instance_id, want [i], "message %zu", i);
        norc_msg_destroy (&got);
    }
    norc_outbox_ack (outbox, seq [3]);
    norc_outbox_ack (outbox, seq [1]);
    norc_outbox_ack (outbox, seq [4]);
    cr_expect_eq (norc_outbox_pending (outbox), 0);
    norc_outbox_destroy (&outbox);
    zsock_destroy (&sender);
    zsock_destroy (&peer);
}

//  A hundred thousand waiting (an executor reporting ends faster than the
//  aggregator commits them), acknowledged newest first and each twice:
//  each acknowledgement costs a look-up, not a walk of the list (the walk
//  made this minutes of one core, and the executor's heartbeats stopped)
Test (norc_outbox, a_large_backlog_is_acknowledged_in_any_order, .timeout = 30)
{
    norc_log_init ("test", NORC_LOG_ERROR);
    zsock_t *sender = zsock_new (ZMQ_DEALER);      //  no peer: sends are dropped, the outbox keeps them
    norc_outbox_t *outbox = norc_outbox_new (sender, 60000);
    enum { N = 100000 };
    uint64_t first = 0;
    for (int i = 0; i < N; i++) {
        norc_msg_t *m = s_event ((uint64_t) i + 1);
        uint64_t seq = norc_outbox_send (outbox, &m);
        first = i ? first : seq;
    }
    cr_expect_eq (norc_outbox_pending (outbox), N);
    for (int i = N - 1; i >= 0; i--) {
        norc_outbox_ack (outbox, first + (uint64_t) i);
        norc_outbox_ack (outbox, first + (uint64_t) i);
    }
    cr_expect_eq (norc_outbox_pending (outbox), 0);
    norc_outbox_destroy (&outbox);
    zsock_destroy (&sender);
}

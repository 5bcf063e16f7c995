//  Unit tests: sealed messages (common/norc_seal.c), with a known answer
//  computed by an independent implementation (PyNaCl's Box, the same
//  keys, nonce and message).
#include <criterion/criterion.h>
#include "norc_test.h"
#include "norc_seal.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_buf.h"

static void
s_bytes (uint8_t *out, size_t size, uint8_t first)
{
    for (size_t i = 0; i < size; i++)
        out [i] = (uint8_t) (first + i);
}

static void
s_hex (const uint8_t *bytes, size_t size, char *out)
{
    for (size_t i = 0; i < size; i++)
        sprintf (out + 2 * i, "%02x", bytes [i]);
}

//  Secret keys 0x01..0x20 (writer) and 0x21..0x40 (reader), nonce
//  0x41..0x58, from nacl.public.Box (PyNaCl 1.5)
#define S_MESSAGE "norc: a claim for instance 42"
#define S_SEALED "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY8VJjbj0UuICQQcLNU6redg2YglAvUfttKnE/j49cqIyRV2csXhfl477+Nfyt"

Test (norc_seal, the_known_answer_of_an_independent_implementation)
{
    uint8_t writer [NORC_SEAL_KEY], reader [NORC_SEAL_KEY], nonce [NORC_SEAL_NONCE];
    uint8_t writer_public [NORC_SEAL_KEY], reader_public [NORC_SEAL_KEY];
    s_bytes (writer, sizeof writer, 1);
    s_bytes (reader, sizeof reader, 33);
    s_bytes (nonce, sizeof nonce, 65);
    norc_seal_public (writer, writer_public);
    norc_seal_public (reader, reader_public);
    char hex [2 * NORC_SEAL_KEY + 1];
    s_hex (writer_public, NORC_SEAL_KEY, hex);
    cr_expect_str_eq (hex, "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
    s_hex (reader_public, NORC_SEAL_KEY, hex);
    cr_expect_str_eq (hex, "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
    char *sealed = norc_seal_nonce (writer, reader_public, S_MESSAGE, strlen (S_MESSAGE), nonce);
    cr_assert_not_null (sealed);
    cr_expect_str_eq (sealed, S_SEALED);
    size_t size;
    const char *why;
    char *data = (char *) norc_unseal (reader, writer_public, S_SEALED, &size, &why);
    cr_assert_not_null (data, "%s", why);
    cr_expect_eq (size, strlen (S_MESSAGE));
    cr_expect_str_eq (data, S_MESSAGE);
    free (data);
    free (sealed);
}

Test (norc_seal, only_the_reader_opens_only_the_writer_makes_and_nothing_changed_passes)
{
    uint8_t writer [NORC_SEAL_KEY], reader [NORC_SEAL_KEY], other [NORC_SEAL_KEY];
    uint8_t writer_public [NORC_SEAL_KEY], reader_public [NORC_SEAL_KEY], other_public [NORC_SEAL_KEY];
    s_bytes (writer, sizeof writer, 1);
    s_bytes (reader, sizeof reader, 33);
    s_bytes (other, sizeof other, 101);
    norc_seal_public (writer, writer_public);
    norc_seal_public (reader, reader_public);
    norc_seal_public (other, other_public);
    const uint8_t data [] = { 0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa5, 'c', 'l', 'a', 'i', 'm', 0x00, 0xff };
    char *a = norc_seal (writer, reader_public, data, sizeof data);
    char *b = norc_seal (writer, reader_public, data, sizeof data);
    cr_assert (a && b);
    cr_expect_str_neq (a, b, "a fresh nonce each time");
    size_t size;
    const char *why;
    uint8_t *opened = (uint8_t *) norc_unseal (reader, writer_public, a, &size, &why);
    cr_assert_not_null (opened, "%s", why);
    cr_expect_eq (size, sizeof data);
    cr_expect_eq (memcmp (opened, data, sizeof data), 0, "binary data, a NUL inside, comes back whole");
    free (opened);
    //  Another reader, or another writer claimed: refused
    cr_expect_null (norc_unseal (other, writer_public, a, &size, &why));
    cr_expect_str_eq (why, "does not open: another writer, another reader, or changed");
    cr_expect_null (norc_unseal (reader, other_public, a, &size, &why));
    //  One character changed anywhere: refused
    for (size_t i = 0; i + 2 < strlen (a); i += 7) {
        char *changed = norc_strdup (a);
        changed [i] = changed [i] == 'A' ? 'B' : 'A';
        void *got = norc_unseal (reader, writer_public, changed, &size, &why);
        cr_expect_null (got, "changed at %zu", i);
        free (got);
        free (changed);
    }
    //  Not base64, too short, empty
    cr_expect_null (norc_unseal (reader, writer_public, "not base64 at all!", &size, &why));
    cr_expect_str_eq (why, "not base64");
    cr_expect_null (norc_unseal (reader, writer_public, "QUJD", &size, &why));
    cr_expect_str_eq (why, "too short to be sealed");
    cr_expect_null (norc_unseal (reader, writer_public, "", &size, &why));
    cr_expect_null (norc_unseal (reader, writer_public, NULL, &size, &why));
    //  An empty message is a message
    char *empty = norc_seal (writer, reader_public, "", 0);
    opened = (uint8_t *) norc_unseal (reader, writer_public, empty, &size, &why);
    cr_expect_not_null (opened, "%s", why);
    cr_expect_eq (size, 0);
    free (opened);
    free (empty);
    free (a);
    free (b);
}

//  A body of disconnected mode: SQS-RETURN in msgpack, sealed from the
//  site to home, opened and read back by home; the same body opened by
//  a third party's key is refused
Test (norc_seal, a_return_message_sealed_from_a_site_and_read_back_home)
{
    uint8_t site [NORC_SEAL_KEY], home [NORC_SEAL_KEY], site_public [NORC_SEAL_KEY], home_public [NORC_SEAL_KEY];
    s_bytes (site, sizeof site, 7);
    s_bytes (home, sizeof home, 77);
    norc_seal_public (site, site_public);
    norc_seal_public (home, home_public);
    norc_msg_t *msg = norc_msg_new (NORC_MSG_SQS_RETURN);
    msg->sqs_return.version = 1;
    msg->sqs_return.site = norc_strdup ("far-site");
    msg->sqs_return.kind = norc_strdup ("log");
    msg->sqs_return.instance_id = 42;
    msg->sqs_return.attempt = 1;
    msg->sqs_return.offset = 4096;
    msg->sqs_return.data.size = 160 * 1024;
    msg->sqs_return.data.data = (uint8_t *) norc_malloc (msg->sqs_return.data.size);
    for (size_t i = 0; i < msg->sqs_return.data.size; i++)
        msg->sqs_return.data.data [i] = (uint8_t) (i * 31);
    msg->sqs_return.last = true;
    norc_buf_t *buf = norc_buf_new (1 << 20);
    cr_assert_eq (norc_msg_encode (msg, buf), NORC_OK);
    char *body = norc_seal (site, home_public, norc_buf_data (buf), norc_buf_size (buf));
    cr_assert_not_null (body);
    cr_expect_lt (strlen (body), 256 * 1024, "a full log chunk stays under SQS's 256 KiB: %zu", strlen (body));
    size_t size;
    const char *why;
    uint8_t *opened = (uint8_t *) norc_unseal (home, site_public, body, &size, &why);
    cr_assert_not_null (opened, "%s", why);
    const char *error = NULL;
    norc_msg_t *back = norc_msg_decode (opened, size, &error);
    cr_assert_not_null (back, "%s", error);
    cr_expect_eq (back->id, NORC_MSG_SQS_RETURN);
    cr_expect_str_eq (back->sqs_return.kind, "log");
    cr_expect_eq (back->sqs_return.instance_id, 42);
    cr_expect_eq (back->sqs_return.offset, 4096);
    cr_expect (back->sqs_return.last);
    cr_assert_eq (back->sqs_return.data.size, msg->sqs_return.data.size);
    cr_expect_eq (memcmp (back->sqs_return.data.data, msg->sqs_return.data.data, back->sqs_return.data.size), 0);
    uint8_t stranger [NORC_SEAL_KEY];
    s_bytes (stranger, sizeof stranger, 150);
    cr_expect_null (norc_unseal (stranger, site_public, body, &size, &why), "a third party cannot read it");
    norc_msg_destroy (&back);
    norc_msg_destroy (&msg);
    free (opened);
    free (body);
    norc_buf_destroy (&buf);
}

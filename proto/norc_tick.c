//  norc_tick.c - see norc_tick.h.
#include "norc_tick.h"
#include "norc_pack.h"
#include "norc_mem.h"
#include "norc_seal.h"
#include <sodium.h>

void
norc_tick_digest (const char *command, const char *cwd, int timeout_s, int64_t log_max_bytes,
                  const norc_strmap_t *env, char hex [65])
{
    size_t count = env ? env->count : 0;
    size_t *order = (size_t *) norc_calloc (count ? count : 1, sizeof (size_t));
    //  In the order of the names (an insertion sort: at most 1024 of them)
    for (size_t i = 0; i < count; i++) {
        size_t j = i;
        for (; j > 0 && strcmp (env->keys [order [j - 1]], env->keys [i]) > 0; j--)
            order [j] = order [j - 1];
        order [j] = i;
    }
    norc_buf_t *buf = norc_buf_new (SIZE_MAX / 2);
    norc_writer_t *w = norc_writer_new (buf);
    norc_writer_array (w, 5);
    norc_writer_str (w, command ? command : "");
    norc_writer_str (w, cwd ? cwd : "");
    norc_writer_i64 (w, timeout_s);
    norc_writer_i64 (w, log_max_bytes);
    norc_writer_array (w, (uint32_t) count * 2);
    for (size_t i = 0; i < count; i++) {
        norc_writer_str (w, env->keys [order [i]]);
        norc_writer_str (w, env->values [order [i]]);
    }
    norc_writer_destroy (&w);
    uint8_t hash [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, norc_buf_data (buf), norc_buf_size (buf));
    sodium_bin2hex (hex, 65, hash, sizeof hash);
    norc_buf_destroy (&buf);
    free (order);
}

char *
norc_tick_encode (const norc_msg_t *msg)
{
    if (!msg || msg->id != NORC_MSG_SQS_TICK)
        return NULL;
    norc_buf_t *buf = norc_buf_new (NORC_TICK_BODY_MAX);
    char *text = NULL;
    if (norc_msg_encode (msg, buf) == NORC_OK) {
        size_t size = sodium_base64_ENCODED_LEN (norc_buf_size (buf), sodium_base64_VARIANT_ORIGINAL);
        text = (char *) norc_malloc (size);
        sodium_bin2base64 (text, size, norc_buf_data (buf), norc_buf_size (buf), sodium_base64_VARIANT_ORIGINAL);
    }
    norc_buf_destroy (&buf);
    return text;
}

norc_msg_t *
norc_tick_decode (const char *body, size_t len, const char **why)
{
    *why = NULL;
    if (!body || len == 0 || len > NORC_TICK_BODY_MAX) {
        *why = "empty, or longer than any SQS-TICK";
        return NULL;
    }
    uint8_t *bin = (uint8_t *) norc_malloc (len);
    size_t size = 0;
    norc_msg_t *msg = NULL;
    if (sodium_base642bin (bin, len, body, len, " \r\n", &size, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        *why = "not base64";
    else {
        const char *error = NULL;
        msg = norc_msg_decode (bin, size, &error);
        if (!msg)
            *why = error ? error : "not a Norc message";
        else
        if (msg->id != NORC_MSG_SQS_TICK) {
            *why = "a Norc message, not an SQS-TICK";
            norc_msg_destroy (&msg);
        }
        else
        if (msg->sqs_tick.instance_id == 0 || !msg->sqs_tick.digest || strlen (msg->sqs_tick.digest) != 64) {
            *why = "an SQS-TICK without its instance or its digest";
            norc_msg_destroy (&msg);
        }
    }
    free (bin);
    return msg;
}

char *
norc_site_encode (const norc_msg_t *msg, const uint8_t *writer_secret, const uint8_t *reader_public)
{
    if (!msg || (msg->id != NORC_MSG_SQS_RETURN && msg->id != NORC_MSG_SQS_REPLY))
        return NULL;
    norc_buf_t *buf = norc_buf_new (NORC_SITE_BODY_MAX);
    char *text = NULL;
    if (norc_msg_encode (msg, buf) == NORC_OK)
        text = norc_seal (writer_secret, reader_public, norc_buf_data (buf), norc_buf_size (buf));
    norc_buf_destroy (&buf);
    return text;
}

norc_msg_t *
norc_site_decode (const char *body, int expect, const uint8_t *reader_secret, const uint8_t *writer_public,
                  const char **why)
{
    *why = NULL;
    if (!body || !*body || strlen (body) > NORC_SITE_BODY_MAX) {
        *why = "empty, or longer than any site's message";
        return NULL;
    }
    size_t size = 0;
    uint8_t *data = (uint8_t *) norc_unseal (reader_secret, writer_public, body, &size, why);
    if (!data)
        return NULL;
    const char *error = NULL;
    norc_msg_t *msg = norc_msg_decode (data, size, &error);
    free (data);
    if (!msg)
        *why = error ? error : "not a Norc message";
    else
    if (msg->id != expect) {
        *why = expect == NORC_MSG_SQS_RETURN ? "a Norc message, not an SQS-RETURN" : "a Norc message, not an SQS-REPLY";
        norc_msg_destroy (&msg);
    }
    return msg;
}

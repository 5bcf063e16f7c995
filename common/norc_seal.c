//  norc_seal.c - see norc_seal.h. No cryptography of Norc's own: libsodium's
//  crypto_box_easy and crypto_box_open_easy, its random nonce and its base64.
#include "norc_seal.h"
#include "norc_mem.h"
#include <sodium.h>

char *
norc_seal_nonce (const uint8_t *writer_secret, const uint8_t *reader_public, const void *data, size_t size,
                 const uint8_t *nonce)
{
    if (sodium_init () < 0)
        return NULL;
    size_t boxed = NORC_SEAL_NONCE + crypto_box_MACBYTES + size;
    uint8_t *raw = (uint8_t *) norc_malloc (boxed);
    memcpy (raw, nonce, NORC_SEAL_NONCE);
    if (crypto_box_easy (raw + NORC_SEAL_NONCE, (const uint8_t *) data, size, nonce, reader_public,
                         writer_secret) != 0) {
        free (raw);
        return NULL;
    }
    size_t len = sodium_base64_ENCODED_LEN (boxed, sodium_base64_VARIANT_ORIGINAL);
    char *text = (char *) norc_malloc (len);
    sodium_bin2base64 (text, len, raw, boxed, sodium_base64_VARIANT_ORIGINAL);
    free (raw);
    return text;
}

char *
norc_seal (const uint8_t *writer_secret, const uint8_t *reader_public, const void *data, size_t size)
{
    if (sodium_init () < 0)
        return NULL;
    uint8_t nonce [NORC_SEAL_NONCE];
    randombytes_buf (nonce, sizeof nonce);
    return norc_seal_nonce (writer_secret, reader_public, data, size, nonce);
}

void *
norc_unseal (const uint8_t *reader_secret, const uint8_t *writer_public, const char *text, size_t *size,
             const char **why)
{
    *size = 0;
    *why = NULL;
    if (sodium_init () < 0) {
        *why = "libsodium cannot start";
        return NULL;
    }
    size_t len = text ? strlen (text) : 0;
    uint8_t *raw = (uint8_t *) norc_malloc (len + 1);
    size_t boxed = 0;
    if (sodium_base642bin (raw, len + 1, text ? text : "", len, NULL, &boxed, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0) {
        free (raw);
        *why = "not base64";
        return NULL;
    }
    if (boxed < NORC_SEAL_NONCE + crypto_box_MACBYTES) {
        free (raw);
        *why = "too short to be sealed";
        return NULL;
    }
    size_t plain = boxed - NORC_SEAL_NONCE - crypto_box_MACBYTES;
    uint8_t *data = (uint8_t *) norc_malloc (plain + 1);
    if (crypto_box_open_easy (data, raw + NORC_SEAL_NONCE, boxed - NORC_SEAL_NONCE, raw, writer_public,
                              reader_secret) != 0) {
        free (raw);
        free (data);
        *why = "does not open: another writer, another reader, or changed";
        return NULL;
    }
    free (raw);
    data [plain] = 0;
    *size = plain;
    return data;
}

void
norc_seal_public (const uint8_t *secret, uint8_t *public_key)
{
    if (sodium_init () >= 0)
        crypto_scalarmult_base (public_key, secret);
}

//  norc_secret.c - see norc_secret.h.
#include "norc_secret.h"
#include <sodium.h>

void
norc_secret_new (const char *prefix, char *out)
{
    if (sodium_init () < 0)
        abort ();               //  no random source: nothing safe to hand out
    unsigned char bytes [32];
    randombytes_buf (bytes, sizeof bytes);
    size_t len = strlen (prefix);
    if (len > 16)
        len = 16;
    memcpy (out, prefix, len);
    sodium_bin2base64 (out + len, NORC_SECRET_MAX - len, bytes, sizeof bytes,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero (bytes, sizeof bytes);
}

void
norc_secret_hash (const char *secret, char *hex)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) secret, strlen (secret));
    sodium_bin2hex (hex, 65, digest, sizeof digest);
}

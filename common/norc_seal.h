//  norc_seal.h - a message for one reader from one writer, to travel over a
//  channel others may read or write (the bodies of disconnected mode's SQS
//  queues, docs/sqs.md): libsodium's crypto_box (X25519, XSalsa20-Poly1305)
//  from the writer's secret key to the reader's public key, the same
//  Curve25519 key pairs that CURVE uses (docs/security.md). Only the reader
//  can open it; only the writer (or the reader) can have made it; a change
//  to any byte is found.
#ifndef NORC_SEAL_H_INCLUDED
#define NORC_SEAL_H_INCLUDED
#include "norc.h"

#define NORC_SEAL_KEY   32      //  a Curve25519 key, public or secret
#define NORC_SEAL_NONCE 24

//  The sealed text: base64 (standard, padded) of a random nonce and the
//  box. Caller frees.
char *norc_seal (const uint8_t *writer_secret, const uint8_t *reader_public, const void *data, size_t size);

//  The same with a given nonce (known-answer tests; a nonce must never be
//  used twice with the same keys).
char *norc_seal_nonce (const uint8_t *writer_secret, const uint8_t *reader_public, const void *data, size_t size,
                       const uint8_t *nonce);

//  The data a sealed text holds (caller frees; *size its length, and a NUL
//  follows it), or NULL with why: not base64, too short, or it does not
//  open with these keys (another writer, another reader, or changed).
void *norc_unseal (const uint8_t *reader_secret, const uint8_t *writer_public, const char *text, size_t *size,
                   const char **why);

//  The public key of a secret key
void norc_seal_public (const uint8_t *secret, uint8_t *public_key);

#endif

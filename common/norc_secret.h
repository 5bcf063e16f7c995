//  norc_secret.h - the secrets people present to Norc over HTTP (API
//  tokens, browser sessions): made from the system's random source and
//  kept only as a hash (libsodium).
#ifndef NORC_SECRET_H_INCLUDED
#define NORC_SECRET_H_INCLUDED
#include "norc.h"

//  A secret: prefix then 43 characters of base64url (256 random bits), e.g.
//  "norc_tok_...". out holds at least NORC_SECRET_MAX bytes.
#define NORC_SECRET_MAX 64
void norc_secret_new (const char *prefix, char *out);

//  SHA-256 of a secret's text, as 64 hex digits and a NUL, into hex.
void norc_secret_hash (const char *secret, char *hex);

#endif

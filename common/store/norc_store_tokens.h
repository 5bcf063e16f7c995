//  norc_store_tokens.h - API tokens (and browser sessions): the
//  credentials a person presents to norc-web, kept as a hash of the secret.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_TOKENS_H_INCLUDED
#define NORC_STORE_TOKENS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

enum { NORC_TOKEN_API = 1, NORC_TOKEN_SESSION = 2 };

typedef struct {
    uint64_t id;
    const char *name;           //  a token's name; a session's user
    const char *principal;      //  whom its requests are audited as
    int kind;                   //  NORC_TOKEN_API, NORC_TOKEN_SESSION
    const char *roles;          //  comma list, as norc_roles_parse reads it
    const char *secret_hash;    //  SHA-256 of the secret, 64 hex digits
    norc_us_t expires;          //  0: never
} norc_token_t;

//  Add a token (t->id is set). NORC_CONFLICT when a live API token has
//  that name already.
int norc_store_token_add (norc_db_t *db, norc_token_t *t, const char *created_by);

//  The live (not revoked, not expired) token whose secret hashes to
//  secret_hash: its principal (65 bytes) and roles (256 bytes), and its
//  last use noted (to the minute). NORC_NOTFOUND when there is none.
int norc_store_token_find (norc_db_t *db, const char *secret_hash, uint64_t *id, char *principal,
                           char *roles);

//  Every API token (never a secret or its hash), newest first.
int norc_store_token_list (norc_db_t *db, norc_rows_t *rows);

//  Revoke the live tokens named ref, or the one with id ref ("#12" or
//  "12"): *count of them (0 and NORC_NOTFOUND when none).
int norc_store_token_revoke (norc_db_t *db, const char *ref, uint64_t *count);

#endif

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

//  End a session by its id (a logout): NORC_NOTFOUND when id is not a
//  live session (an API token is never ended so: token.revoke ends it).
int norc_store_session_end (norc_db_t *db, uint64_t id);

//  Local users of the page (web_user).

//  Add a user with an Argon2id hash (crypto_pwhash_str) and roles:
//  NORC_CONFLICT when the name is taken.
int norc_store_user_add (norc_db_t *db, const char *name, const char *password_hash, const char *roles,
                         const char *created_by);

//  A user's hash (256 bytes) and roles (256 bytes), and whether it is
//  locked out now (*locked). NORC_NOTFOUND when there is none.
int norc_store_user_get (norc_db_t *db, const char *name, char *password_hash, char *roles, bool *locked);

//  A login's outcome: a success clears the failures, a failure counts one;
//  `lock_after` failures in a row lock the user out for lock_s seconds.
int norc_store_user_login (norc_db_t *db, const char *name, bool success, int lock_after, int lock_s);

//  Every user (never a hash).
int norc_store_user_list (norc_db_t *db, norc_rows_t *rows);

//  Remove a user, and end its sessions.
int norc_store_user_rm (norc_db_t *db, const char *name);

#endif

//  norc_store_principals.h - the registry of principals: one row per
//  CURVE public key (norc_principal.h says what a principal is). Part of
//  the store (norc_store.h says how every operation behaves). A reference
//  to keys (ref) is a principal's name (all its keys) or 8 to 40 hex
//  digits that begin one key's fingerprint (NORC_CONFLICT when they begin
//  more than one).
#ifndef NORC_STORE_PRINCIPALS_H_INCLUDED
#define NORC_STORE_PRINCIPALS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"
#include "norc_principal.h"
#include "norc_zap.h"

//  Most pending keys kept: an unknown key that knocks past this is not recorded
#define NORC_PENDING_MAX 1000

//  Every key, into registry (the ZAP handlers read this every half second).
int norc_store_principals_load (norc_db_t *db, norc_registry_t *registry);

//  Add p unless its key or fingerprint is there already, in any state (a
//  revoked key is never added back this way). NORC_OK either way.
int norc_store_principal_seed (norc_db_t *db, const norc_principal_t *p, const char *created_by);

//  An unknown key knocked: record it as pending (with where from and
//  when), unless there are NORC_PENDING_MAX pending keys already; a pending
//  key's last knock is updated. Known keys are left as they are.
int norc_store_principal_knock (norc_db_t *db, const char *key, const char *fingerprint, const char *address);

//  Add p (accepted) with its key: NORC_CONFLICT when the key is there.
//  p->expires_us 0: never.
int norc_store_principal_add (norc_db_t *db, const norc_principal_t *p, const char *created_by);

//  The keys (pending only, or all but the pending), oldest first: rows
//  fingerprint, name, kind (user, service, token), roles, state (pending,
//  accepted, rejected, revoked, expired), created_by, created_at,
//  expires_at, revoked_at, address, seen_at.
int norc_store_principal_list (norc_db_t *db, bool pending, norc_rows_t *rows);

//  Accept the pending key ref (a fingerprint) as name, of kind, with roles.
//  NORC_NOTFOUND when no pending key begins so.
int norc_store_principal_accept (norc_db_t *db, const char *ref, const char *name, int kind, uint32_t roles,
                                 const char *by);

//  Reject the pending key ref (a fingerprint): it is never admitted nor
//  recorded again.
int norc_store_principal_reject (norc_db_t *db, const char *ref);

//  Revoke ref's keys that are accepted and not revoked; *count gets how many
//  (NORC_NOTFOUND when none).
int norc_store_principal_revoke (norc_db_t *db, const char *ref, uint64_t *count);

//  A new key for name, with the kind and roles of its newest live key;
//  its other live keys expire overlap_us from now (at the latest).
//  NORC_NOTFOUND when name has no live key; NORC_CONFLICT when the key is
//  known.
int norc_store_principal_rotate (norc_db_t *db, const char *name, const char *key, int64_t overlap_us,
                                 const char *by);

//  Spend the enrolment token whose key is token_key: it is revoked, and key
//  is added as the principal it names, with its kind and roles. name (65
//  bytes) gets that name. NORC_NOTFOUND when the token is not live (used,
//  expired, revoked); NORC_CONFLICT when the key is known.
int norc_store_principal_enrol (norc_db_t *db, const char *token_key, const char *key, char *name);

//  The registry as the ZAP handler of a service with database credentials
//  reads it (norc_zap_use_store).
const norc_zap_store_t *norc_store_zap_source (void);

#endif

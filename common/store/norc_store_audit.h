//  norc_store_audit.h - the audit: an append-only, hash-chained record of
//  every change and every refusal of one. Part of the store (norc_store.h
//  says how every operation behaves).
#ifndef NORC_STORE_AUDIT_H_INCLUDED
#define NORC_STORE_AUDIT_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

//  Outcomes: norc_audit_outcome_t (norc_enums.h).

typedef struct {
    const char *principal;      //  who
    const char *key_fingerprint;    //  "" when no key
    const char *source;         //  peer address ("" unknown)
    const char *verb;
    const char *target;
    int outcome;                //  norc_audit_outcome_t
    const char *reason;         //  "" when accepted
    const char *before;         //  JSON, or NULL
    const char *after;          //  JSON, or NULL
} norc_audit_entry_t;

//  Append one entry after the last (at the current time). *id and hash (65
//  bytes: 64 hex digits) get the row's id and hash; either may be NULL.
int norc_store_audit_append (norc_db_t *db, const norc_audit_entry_t *entry, uint64_t *id, char *hash);

//  The last limit entries, newest first: rows id, at, principal,
//  key_fingerprint, source, verb, target, outcome (accepted, denied,
//  failed), reason, before, after, hash.
int norc_store_audit_list (norc_db_t *db, uint64_t before, int64_t limit, norc_rows_t *rows);

//  Walk the chain from the first row. *count gets how many rows there are;
//  *broken the id of the first row whose hash, link to the row before, or
//  id does not hold (0 when the chain holds).
int norc_store_audit_verify (norc_db_t *db, uint64_t *count, uint64_t *broken);

//  From now, every message this process's servers refuse for its sender
//  (norc_authz_check) is an audit row in db, its verb the message's name
//  and its target server (the refusing service: "scheduler"...), five a
//  second at most: a peer that floods refusals fills the log's count, not
//  the table. db is used in the thread that checks the messages.
void norc_store_audit_refusals (norc_db_t *db, const char *server);

//  No more of that, if it was db's (before db is destroyed)
void norc_store_audit_refusals_stop (norc_db_t *db);

#endif

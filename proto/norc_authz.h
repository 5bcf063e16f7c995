//  norc_authz.h - what each message of the protocol, and each API
//  operation, needs of its sender: the one table of who may ask what
//  (roles: common/norc_principal.h). A server checks it for every message
//  it receives, against the principal its connection was admitted as.
#ifndef NORC_AUTHZ_H_INCLUDED
#define NORC_AUTHZ_H_INCLUDED
#include "norc_principal.h"
#include "norc_zap.h"
#include "norc_msg.h"

//  What an API operation needs (proto/norc_api.xml): any one of the returned roles. An
//  operation Norc does not know needs admin (who is then told it does not
//  exist). NORC_ROLE_ANY: any principal (keys.rotate: its own key; the
//  operation checks the rest).
uint32_t norc_authz_op (const char *op);

//  What a message a server receives needs (by norc_msg_t id): any one of
//  the returned roles; 0 when no server receives that type (refused).
uint32_t norc_authz_msg (int msg_id);

//  Whether a server acts on msg: its sender may send its type now
//  (norc_zap_allows with norc_authz_msg). A refusal is logged (a line every
//  10 s at most, with how many were not said) and handed to the hook. who
//  (may be NULL) gets the sender.
bool norc_authz_check (const norc_msg_t *msg, norc_zap_who_t *who);

//  Called for each refusal by norc_authz_check: who, the message's name
//  (the verb), why, and the sender's address ("" unknown). A service with
//  the audit records it (at most a few a second).
typedef void (norc_authz_denied_fn) (void *arg, const norc_zap_who_t *who, const char *verb, const char *why,
                                     const char *address);
void norc_authz_on_denied (norc_authz_denied_fn *fn, void *arg);

#endif

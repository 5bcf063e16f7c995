//  norc_zap.h - CURVE for every socket a Norc program makes, the ZAP
//  handler that decides who may connect, and the check of who sent each
//  message.
//
//  With security.curve on, every endpoint but inproc:// is CURVE: a
//  server socket uses the program's own key pair and asks the ZAP handler
//  about each client; a client socket uses its own pair and pins the
//  server's public key (aggregator.key for the aggregator's endpoints,
//  scheduler.key for dispatch, archiver.key for the archiver's), so no
//  one can stand in for a server.
//
//  The handler admits a client whose public key is an admitted principal
//  of the registry (norc_principal.h) and names the connection by that key
//  (the frames' User-Id). The registry is read again every half second:
//  from MySQL in a service that has a store (norc_zap_use_store) and
//  copied to security.keys_dir/principals; else from that copy; else, when
//  there is none, from the public key files in the keys directory (their
//  "roles" metadata). A service with a store first adds to the table the
//  public files of its keys directory that it does not hold (how the first
//  keys get in). A key that knocks and is not known is recorded as pending.
//  See docs/security.md.
#ifndef NORC_ZAP_H_INCLUDED
#define NORC_ZAP_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include "norc_principal.h"
#include <czmq.h>

//  Where a service with database credentials reads the registry. Each
//  function runs in the handler's own thread, on the source open made.
typedef struct {
    void *(*open) (norc_config_t *config);                  //  NULL: not now
    int (*load) (void *source, norc_registry_t *registry);  //  every key; NORC_OK or not
    //  Add p unless its key is there already (in any state)
    int (*seed) (void *source, const norc_principal_t *p, const char *created_by);
    //  An unknown key knocked from address: record it as pending
    void (*knock) (void *source, const char *key, const char *fingerprint, const char *address);
    void (*close) (void **source);
} norc_zap_store_t;

//  Before norc_zap_init (before norc_service_init): read the registry from
//  this store.
void norc_zap_use_store (const norc_zap_store_t *store);

//  Set up CURVE for this process from config, as role (the default name
//  of its own pair: aggregator, archiver, scheduler, executor, norcctl).
//  Without security.curve, nothing. NORC_OK, or NORC_ERROR with the reason
//  in err (no pair, a secret file others can read, a libzmq too old).
int norc_zap_init (norc_config_t *config, const char *role, char *err, size_t errsize);

//  Stop the handler and forget the keys (at exit).
void norc_zap_shutdown (void);

//  Whether CURVE is on in this process.
bool norc_zap_curve (void);

//  This process's own public key (Z85), or NULL without CURVE.
const char *norc_zap_own_key (void);

//  Who sent a message.
typedef struct {
    char name [65];             //  "anonymous" without CURVE; "?" for a key not in the registry
    char fingerprint [41];      //  "" without CURVE
    int kind;                   //  NORC_PRINCIPAL_*, 0 when unknown
    uint32_t roles;             //  as granted
} norc_zap_who_t;

//  Whether a message received from user_id (its sender's key under CURVE:
//  norc_msg_t's user_id) may ask for what needs (roles, any one of them:
//  proto/norc_authz.h) now: the key is admitted in the registry as it is
//  now (not only when it connected) and its principal has one of those
//  roles. who (may be NULL) gets the sender; why (may be NULL) the reason
//  of a refusal. Always true without CURVE (who: anonymous).
bool norc_zap_allows (const char *user_id, uint32_t needs, norc_zap_who_t *who, const char **why);

//  How many times a key that was admitted stopped being admitted (revoked,
//  rejected, expired, removed) since the handler started, as the registry
//  is read every half second. A server whose socket cannot check each
//  message (a PUB: its subscribers send none) binds again when this
//  changes, so that every connection shakes hands anew.
uint64_t norc_zap_withdrawals (void);

//  Make a socket CURVE before it binds (server) or connects (client) to
//  endpoint; nothing when CURVE is off or the endpoint is inproc://.
void norc_zap_apply (zsock_t *sock, const char *endpoint, bool server);

//  A client socket with another pair than the program's (an enrolment
//  token's; NULL: the program's), pinning endpoint's server.
void norc_zap_apply_as (zsock_t *sock, const char *endpoint, zcert_t *cert);

//  Answer one ZAP request (RFC 27 frames) from registry: the reply's
//  frames; *admitted (may be NULL) whether it was admitted. The handler's
//  core, apart for the fuzzer. Caller destroys the reply.
zmsg_t *norc_zap_answer (norc_registry_t *registry, zmsg_t *request, int64_t now_us, bool *admitted);

#endif

//  norc_zap.h - CURVE for every socket a Norc program makes, and the ZAP
//  handler that decides who may connect.
//
//  With security.curve on, every endpoint but inproc:// is CURVE: a
//  server socket uses the program's own key pair and asks the ZAP handler
//  about each client; a client socket uses its own pair and pins the
//  server's public key (aggregator.key for the aggregator's endpoints,
//  scheduler.key for dispatch, archiver.key for the archiver's), so no
//  one can stand in for a server. The handler admits a client whose public
//  key is one of the public files (NAME.key) in security.keys_dir, read
//  again at most a second after it changed, and names the connection
//  after it (the frames' User-Id). See docs/security.md.
#ifndef NORC_ZAP_H_INCLUDED
#define NORC_ZAP_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include <czmq.h>

//  Set up CURVE for this process from config, as role (the default name
//  of its own pair: aggregator, archiver, scheduler, executor, norcctl).
//  Without security.curve, nothing. NORC_OK, or NORC_ERROR with the reason
//  in err (no pair, a secret file others can read, a libzmq too old).
int norc_zap_init (norc_config_t *config, const char *role, char *err, size_t errsize);

//  Stop the handler and forget the keys (at exit).
void norc_zap_shutdown (void);

//  Whether CURVE is on in this process.
bool norc_zap_curve (void);

//  Whether a message received from user_id (its sender's name under
//  CURVE, norc_msg_t's user_id) is still admitted: that key is in the keys
//  directory now (read again within a second), not only when it
//  connected. Always true when CURVE is off.
bool norc_zap_admits (const char *user_id);

//  Make a socket CURVE before it binds (server) or connects (client) to
//  endpoint; nothing when CURVE is off or the endpoint is inproc://.
void norc_zap_apply (zsock_t *sock, const char *endpoint, bool server);

#endif

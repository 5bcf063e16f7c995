//  norc_keys.h - CURVE key pairs on disk, through czmq's zcert: NAME.key
//  (the public key, shareable) and NAME.key_secret (both keys; mode 0600,
//  or it is refused). The ground for CURVE on every endpoint (see
//  docs/security.md): a service loads its own pair, a client pins its
//  server's public key.
#ifndef NORC_KEYS_H_INCLUDED
#define NORC_KEYS_H_INCLUDED
#include "norc.h"
#include <czmq.h>

//  Make a new key pair NAME in dir (created 0700 when missing). The
//  secret file is written 0600 from its first byte; an existing pair is
//  never overwritten. NORC_OK, NORC_CONFLICT when NAME exists, or
//  NORC_ERROR; the reason in err. public_txt (41 bytes, may be NULL) gets
//  the public key in Z85. roles (NULL or "": none) is written in the
//  public file, for a service that seeds its registry from the directory
//  (norc_zap.h).
int norc_keys_generate (const char *dir, const char *name, const char *roles, char *public_txt, char *err,
                        size_t errsize);

//  Load the pair NAME from dir: with its secret key when secret is true
//  (refused unless the secret file is the caller's and mode 0600), else
//  the public key only. NULL with the reason in err. (root may use a
//  secret file another user owns: it could read it anyway; an executor
//  running tasks as another user runs as root.)
zcert_t *norc_keys_load (const char *dir, const char *name, bool secret, char *err, size_t errsize);

//  Whether this libzmq can do CURVE safely: built with it, and 4.3.3 or
//  later (older ones have CURVE flaws: CVE-2019-13132, CVE-2020-15166).
//  false with the reason in err.
bool norc_keys_curve_ready (char *err, size_t errsize);

#endif

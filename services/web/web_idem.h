//  web_idem.h - Idempotency-Key for norc-web's changes: a POST or DELETE
//  that carries the header is done once; the same request again with the
//  same key (a client's retry after a lost answer) gets the first answer
//  back, marked Idempotent-Replayed, instead of being done twice. Kept in
//  memory, per credential, for a day, the newest 10,000. docs/web.md.
#ifndef WEB_IDEM_H_INCLUDED
#define WEB_IDEM_H_INCLUDED
#include "norc.h"

typedef struct _web_idem_t web_idem_t;

typedef enum {
    WEB_IDEM_NEW,               //  first seen: do it (recorded as in progress)
    WEB_IDEM_REPLAY,            //  done before: its answer is given back
    WEB_IDEM_BUSY,              //  the first is still in progress (409)
    WEB_IDEM_MISMATCH           //  the key was used for another request (422)
} web_idem_state_t;

web_idem_t *web_idem_new (size_t max, norc_us_t ttl_us);
void web_idem_destroy (web_idem_t **self_p);

//  A request with key (the credential's, and the header's) whose content
//  hashes to fingerprint, at now: what to do. On WEB_IDEM_REPLAY the first
//  answer (borrowed: valid until the next call) in *status, *text, *type.
web_idem_state_t web_idem_begin (web_idem_t *self, const char *key, const char *fingerprint, norc_us_t now,
                                 int *status, const char **text, const char **type);

//  The answer of a request begun with key: kept, unless it is a 5xx (the
//  client may then try again, and it is done again).
void web_idem_finish (web_idem_t *self, const char *key, int status, const char *text, const char *type);

size_t web_idem_size (web_idem_t *self);

#endif

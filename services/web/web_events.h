//  web_events.h - the event stream as Server-Sent Events (GET
//  /api/v1/events): every EVENT the aggregator publishes, as one JSON
//  object, to each client whose topic filters it matches; each numbered,
//  the last ones kept, so a client that reconnects with Last-Event-ID
//  misses nothing that is still kept (and is told, by an event "gap", when
//  something it may have missed is not). docs/web.md.
#ifndef WEB_EVENTS_H_INCLUDED
#define WEB_EVENTS_H_INCLUDED
#include "norc.h"
#include "norc_msg.h"
#include <microhttpd.h>

typedef struct _web_events_t web_events_t;
typedef struct _web_client_t web_client_t;

//  Keep the last `keep` events; a client is dropped when more than
//  max_pending bytes wait for it (it reconnects and resumes).
web_events_t *web_events_new (size_t keep, size_t max_pending);
void web_events_destroy (web_events_t **self_p);

//  One message from the stream (EVENT or SCHEDULE-CHANGED): numbered,
//  kept and sent to every client it matches.
void web_events_publish (web_events_t *self, const norc_msg_t *msg);

//  A comment line to every client (keeps proxies from closing idle streams).
void web_events_keepalive (web_events_t *self);

//  A new client: topics, a comma list of prefixes ("" or NULL: every
//  topic); last_id, the Last-Event-ID it reconnects with (NULL: none);
//  credential, kept to check it again; audit: whether it may hear the
//  audit's events (audit.*: an admin's), which no other client is sent.
//  The response that streams to it.
struct MHD_Response *web_events_open (web_events_t *self, const char *topics, const char *last_id,
                                      const char *credential, bool audit);

//  The clients, to check their credentials again; end one whose credential
//  no longer holds.
web_client_t *web_events_first (web_events_t *self);
web_client_t *web_events_next (web_events_t *self);
const char *web_client_credential (web_client_t *client);
void web_client_end (web_client_t *client);

//  How many clients are connected.
size_t web_events_clients (web_events_t *self);

//  The JSON of one stream message (caller frees), and its topic in *topic.
char *web_events_json (const norc_msg_t *msg, const char **topic);

#endif

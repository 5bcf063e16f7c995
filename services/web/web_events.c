//  web_events.c - Server-Sent Events (web_events.h).
#include "web_events.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <czmq.h>
#include <jansson.h>

typedef struct {
    uint64_t seq;               //  0: empty slot
    char *topic;
    char *text;                 //  the whole SSE record: "id: ...\nevent: ...\ndata: ...\n\n"
} s_kept_t;

struct _web_client_t {
    web_events_t *owner;
    char **topics;              //  prefixes; none: every topic
    size_t ntopics;
    char *credential;
    bool audit;                 //  may hear audit.* (an admin)
    char *pending;              //  bytes not yet taken by the connection
    size_t len;
    bool ended;
    void *handle;               //  in owner->clients
};

struct _web_events_t {
    s_kept_t *kept;
    size_t keep;
    size_t max_pending;
    uint64_t seq;               //  the last event's number
    char boot [20];             //  this process's start, so ids of another run are told apart
    zlistx_t *clients;
};

web_events_t *
web_events_new (size_t keep, size_t max_pending)
{
    web_events_t *self = (web_events_t *) norc_calloc (1, sizeof *self);
    self->keep = keep ? keep : 1;
    self->kept = (s_kept_t *) norc_calloc (self->keep, sizeof *self->kept);
    self->max_pending = max_pending;
    snprintf (self->boot, sizeof self->boot, "%llx", (unsigned long long) norc_now_us ());
    self->clients = zlistx_new ();
    return self;
}

void
web_events_destroy (web_events_t **self_p)
{
    web_events_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->keep; i++) {
        free (self->kept [i].topic);
        free (self->kept [i].text);
    }
    free (self->kept);
    //  Clients are freed by libmicrohttpd's free callback; whatever is left
    //  when the daemon stopped first is detached here
    for (web_client_t *c = (web_client_t *) zlistx_first (self->clients); c;
         c = (web_client_t *) zlistx_next (self->clients))
        c->owner = NULL;
    zlistx_destroy (&self->clients);
    free (self);
    *self_p = NULL;
}

static bool
s_matches (const web_client_t *c, const char *topic)
{
    if (!c->audit && strncmp (topic, "audit.", 6) == 0)
        return false;
    if (!c->ntopics)
        return true;
    for (size_t i = 0; i < c->ntopics; i++)
        if (strncmp (topic, c->topics [i], strlen (c->topics [i])) == 0)
            return true;
    return false;
}

static void
s_push (web_client_t *c, const char *text)
{
    size_t n = strlen (text);
    if (c->ended)
        return;
    if (c->owner && c->len + n > c->owner->max_pending) {
        //  A client that does not keep up is let go: it reconnects with
        //  its Last-Event-ID and takes up where it was, while that is kept
        c->ended = true;
        return;
    }
    c->pending = (char *) norc_realloc (c->pending, c->len + n + 1);
    memcpy (c->pending + c->len, text, n + 1);
    c->len += n;
}

static void
s_json_u64 (json_t *doc, const char *key, uint64_t value)
{
    json_object_set_new (doc, key, value ? json_integer ((json_int_t) value) : json_null ());
}

static void
s_json_time (json_t *doc, const char *key, int64_t us)
{
    char iso [40];
    json_object_set_new (doc, key, us ? json_string (norc_time_iso (us, iso, sizeof iso)) : json_null ());
}

static void
s_json_str (json_t *doc, const char *key, const char *value)
{
    json_object_set_new (doc, key, value && *value ? json_string (value) : json_null ());
}

char *
web_events_json (const norc_msg_t *msg, const char **topic)
{
    json_t *doc = json_object ();
    if (msg->id == NORC_MSG_EVENT) {
        const norc_event_t *e = &msg->event;
        *topic = e->topic ? e->topic : "";
        json_object_set_new (doc, "topic", json_string (*topic));
        s_json_time (doc, "time", e->time_us);
        s_json_u64 (doc, "instance_id", e->instance_id);
        s_json_u64 (doc, "schedule_id", e->schedule_id);
        s_json_u64 (doc, "daemon_id", e->daemon_id);
        s_json_str (doc, "task", e->task);
        s_json_str (doc, "queue", e->queue);
        s_json_str (doc, "host", e->host);
        json_object_set_new (doc, "status", e->status ? json_integer (e->status) : json_null ());
        s_json_str (doc, "status_name", e->status_name);
        json_object_set_new (doc, "exit_code", json_integer (e->exit_code));
        s_json_time (doc, "nominal", e->nominal_us);
        json_object_set_new (doc, "attempt", e->attempt ? json_integer (e->attempt) : json_null ());
        s_json_str (doc, "detail", e->detail);
        s_json_time (doc, "last", e->last_us);
        json_object_set_new (doc, "count", e->count ? json_integer (e->count) : json_null ());
    }
    else {
        *topic = "schedule.changed";
        json_object_set_new (doc, "topic", json_string (*topic));
        s_json_u64 (doc, "schedule_id", msg->schedule_changed.schedule_id);
        s_json_str (doc, "op", msg->schedule_changed.op);
    }
    char *text = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (doc);
    return text;
}

void
web_events_publish (web_events_t *self, const norc_msg_t *msg)
{
    if (msg->id != NORC_MSG_EVENT && msg->id != NORC_MSG_SCHEDULE_CHANGED)
        return;
    const char *topic;
    char *json = web_events_json (msg, &topic);
    self->seq++;
    s_kept_t *slot = &self->kept [self->seq % self->keep];
    free (slot->topic);
    free (slot->text);
    slot->seq = self->seq;
    slot->topic = norc_strdup (topic);
    //  The topic is the SSE event name: EventSource.addEventListener (topic)
    slot->text = norc_asprintf ("id: %s-%llu\nevent: %s\ndata: %s\n\n", self->boot,
                                (unsigned long long) self->seq, topic, json);
    free (json);
    for (web_client_t *c = (web_client_t *) zlistx_first (self->clients); c;
         c = (web_client_t *) zlistx_next (self->clients))
        if (s_matches (c, topic))
            s_push (c, slot->text);
}

void
web_events_keepalive (web_events_t *self)
{
    for (web_client_t *c = (web_client_t *) zlistx_first (self->clients); c;
         c = (web_client_t *) zlistx_next (self->clients))
        s_push (c, ": keepalive\n\n");
}

static ssize_t
s_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    NORC_UNUSED (pos);
    web_client_t *c = (web_client_t *) cls;
    if (c->len == 0)
        return c->ended || !c->owner ? MHD_CONTENT_READER_END_OF_STREAM : 0;
    size_t n = c->len < max ? c->len : max;
    memcpy (buf, c->pending, n);
    memmove (c->pending, c->pending + n, c->len - n);
    c->len -= n;
    return (ssize_t) n;
}

static void
s_free (void *cls)
{
    web_client_t *c = (web_client_t *) cls;
    if (c->owner && c->handle)
        zlistx_delete (c->owner->clients, c->handle);
    for (size_t i = 0; i < c->ntopics; i++)
        free (c->topics [i]);
    free (c->topics);
    free (c->pending);
    free (c->credential);
    free (c);
}

struct MHD_Response *
web_events_open (web_events_t *self, const char *topics, const char *last_id, const char *credential,
                 bool audit)
{
    web_client_t *c = (web_client_t *) norc_calloc (1, sizeof *c);
    c->owner = self;
    c->audit = audit;
    c->credential = norc_strdup (credential ? credential : "");
    for (const char *p = topics ? topics : ""; *p; ) {
        size_t len = strcspn (p, ",");
        if (len) {
            c->topics = (char **) norc_realloc (c->topics, (c->ntopics + 1) * sizeof *c->topics);
            c->topics [c->ntopics++] = norc_strndup (p, len);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    //  How long to wait before reconnecting, and what it missed, when
    //  that is still kept
    s_push (c, "retry: 2000\n\n");
    if (last_id && *last_id) {
        size_t boot_len = strlen (self->boot);
        uint64_t seq = 0;
        bool ours = strncmp (last_id, self->boot, boot_len) == 0 && last_id [boot_len] == '-';
        if (ours)
            seq = strtoull (last_id + boot_len + 1, NULL, 10);
        uint64_t oldest = self->seq >= self->keep ? self->seq - self->keep + 1 : 1;
        if (!ours || seq + 1 < oldest || seq > self->seq) {
            char *gap = norc_asprintf ("event: gap\ndata: {\"topic\":\"gap\",\"detail\":\"events after %s are "
                                       "not all kept: read the state again\"}\n\n", last_id);
            s_push (c, gap);
            free (gap);
            seq = self->seq;
        }
        for (uint64_t s = seq + 1; s <= self->seq; s++) {
            s_kept_t *slot = &self->kept [s % self->keep];
            if (slot->seq == s && s_matches (c, slot->topic))
                s_push (c, slot->text);
        }
    }
    c->handle = zlistx_add_end (self->clients, c);
    struct MHD_Response *response = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16384, s_read, c, s_free);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header (response, "X-Accel-Buffering", "no");
    return response;
}

web_client_t *
web_events_first (web_events_t *self)
{
    return (web_client_t *) zlistx_first (self->clients);
}

web_client_t *
web_events_next (web_events_t *self)
{
    return (web_client_t *) zlistx_next (self->clients);
}

const char *
web_client_credential (web_client_t *client)
{
    return client->credential;
}

void
web_client_end (web_client_t *client)
{
    client->ended = true;
}

size_t
web_events_clients (web_events_t *self)
{
    return zlistx_size (self->clients);
}

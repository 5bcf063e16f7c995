//  web_idem.c - see web_idem.h.
#include "web_idem.h"
#include "norc_mem.h"
#include <czmq.h>

typedef struct {
    char *key;
    char *fingerprint;
    bool pending;
    int status;
    char *text;
    char *type;
    norc_us_t at;
    void *handle;               //  in order
} s_entry_t;

struct _web_idem_t {
    zhashx_t *entries;          //  key -> s_entry_t
    zlistx_t *order;            //  the entries, oldest first
    size_t max;
    norc_us_t ttl;
};

static void
s_entry_destroy (void **item)
{
    s_entry_t *e = (s_entry_t *) *item;
    if (!e)
        return;
    free (e->key);
    free (e->fingerprint);
    free (e->text);
    free (e->type);
    free (e);
    *item = NULL;
}

web_idem_t *
web_idem_new (size_t max, norc_us_t ttl_us)
{
    web_idem_t *self = (web_idem_t *) norc_calloc (1, sizeof *self);
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_destroy);
    self->order = zlistx_new ();
    self->max = max ? max : 1;
    self->ttl = ttl_us;
    return self;
}

void
web_idem_destroy (web_idem_t **self_p)
{
    web_idem_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->order);
    zhashx_destroy (&self->entries);
    free (self);
    *self_p = NULL;
}

static void
s_drop (web_idem_t *self, s_entry_t *e)
{
    zlistx_delete (self->order, e->handle);
    zhashx_delete (self->entries, e->key);
}

web_idem_state_t
web_idem_begin (web_idem_t *self, const char *key, const char *fingerprint, norc_us_t now,
                int *status, const char **text, const char **type)
{
    //  The expired, and past the most kept, the oldest
    s_entry_t *oldest;
    while ((oldest = (s_entry_t *) zlistx_first (self->order))
    &&     (now - oldest->at > self->ttl || zlistx_size (self->order) >= self->max) && !oldest->pending)
        s_drop (self, oldest);
    s_entry_t *e = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (e && strcmp (e->fingerprint, fingerprint) != 0)
        return WEB_IDEM_MISMATCH;
    if (e && e->pending)
        return WEB_IDEM_BUSY;
    if (e) {
        *status = e->status;
        *text = e->text;
        *type = e->type;
        return WEB_IDEM_REPLAY;
    }
    e = (s_entry_t *) norc_calloc (1, sizeof *e);
    e->key = norc_strdup (key);
    e->fingerprint = norc_strdup (fingerprint);
    e->pending = true;
    e->at = now;
    zhashx_insert (self->entries, key, e);
    e->handle = zlistx_add_end (self->order, e);
    return WEB_IDEM_NEW;
}

void
web_idem_finish (web_idem_t *self, const char *key, int status, const char *text, const char *type)
{
    s_entry_t *e = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (!e)
        return;
    if (status >= 500) {
        s_drop (self, e);
        return;
    }
    e->pending = false;
    e->status = status;
    free (e->text);
    free (e->type);
    e->text = norc_strdup (text ? text : "");
    e->type = norc_strdup (type ? type : "application/json");
}

size_t
web_idem_size (web_idem_t *self)
{
    return zhashx_size (self->entries);
}

//  norc_principal.c - see norc_principal.h.
#include "norc_principal.h"
#include "norc_mem.h"
#include <czmq.h>
#include <errno.h>

static const struct { const char *name; uint32_t bit; } s_roles [] = {
    { "viewer", NORC_ROLE_VIEWER },         { "logs:read", NORC_ROLE_LOGS },
    { "operator", NORC_ROLE_OPERATOR },     { "admin", NORC_ROLE_ADMIN },
    { "scheduler", NORC_ROLE_SCHEDULER },   { "executor", NORC_ROLE_EXECUTOR },
    { "archiver", NORC_ROLE_ARCHIVER },     { "aggregator", NORC_ROLE_AGGREGATOR },
    { "enrol", NORC_ROLE_ENROL },           { "web", NORC_ROLE_WEB },
    { "bridge", NORC_ROLE_BRIDGE },
};
#define S_ROLES (sizeof s_roles / sizeof s_roles [0])

int
norc_roles_parse (const char *text, uint32_t *roles, char *err, size_t errsize)
{
    *roles = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t len = strcspn (p, ",");
        while (len && *p == ' ')
            p++, len--;
        size_t trim = len;
        while (trim && p [trim - 1] == ' ')
            trim--;
        size_t i;
        for (i = 0; i < S_ROLES; i++)
            if (trim == strlen (s_roles [i].name) && strncmp (p, s_roles [i].name, trim) == 0)
                break;
        //  enrol is a token's, never granted by name
        if (i == S_ROLES || s_roles [i].bit == NORC_ROLE_ENROL) {
            snprintf (err, errsize, "unknown role \"%.*s\" (roles: viewer, logs:read, operator, admin, "
                      "scheduler, executor, archiver, aggregator, web, bridge)", (int) trim, p);
            return NORC_ERROR;
        }
        *roles |= s_roles [i].bit;
        p += len;
        if (*p == ',')
            p++;
    }
    return NORC_OK;
}

void
norc_roles_format (uint32_t roles, char *out, size_t outsize)
{
    size_t len = 0;
    if (outsize)
        out [0] = 0;
    for (size_t i = 0; i < S_ROLES && len < outsize; i++)
        if (roles & s_roles [i].bit)
            len += (size_t) snprintf (out + len, outsize - len, "%s%s", len ? "," : "", s_roles [i].name);
}

uint32_t
norc_roles_effective (int kind, uint32_t roles)
{
    if (kind == NORC_PRINCIPAL_TOKEN)
        return NORC_ROLE_ENROL;
    roles &= ~(uint32_t) NORC_ROLE_ENROL;
    if (roles & NORC_ROLE_ADMIN)
        roles |= NORC_ROLE_OPERATOR | NORC_ROLE_LOGS;
    if (roles & NORC_ROLE_OPERATOR)
        roles |= NORC_ROLE_VIEWER;
    return roles;
}

bool
norc_roles_allow (int kind, uint32_t roles, uint32_t needs)
{
    if (needs == NORC_ROLE_ANY)
        return true;            //  any admitted principal, even one with no role
    return (norc_roles_effective (kind, roles) & needs) != 0;
}

int
norc_roles_kind (uint32_t roles)
{
    uint32_t services = NORC_ROLE_AGGREGATOR | NORC_ROLE_SCHEDULER | NORC_ROLE_EXECUTOR | NORC_ROLE_ARCHIVER
                      | NORC_ROLE_WEB | NORC_ROLE_BRIDGE;
    return roles & services ? NORC_PRINCIPAL_SERVICE : NORC_PRINCIPAL_USER;
}

uint32_t
norc_roles_of_service (const char *name)
{
    static const struct { const char *name; uint32_t bit; } services [] = {
        { "aggregator", NORC_ROLE_AGGREGATOR }, { "scheduler", NORC_ROLE_SCHEDULER },
        { "executor", NORC_ROLE_EXECUTOR },     { "archiver", NORC_ROLE_ARCHIVER },
        { "web", NORC_ROLE_WEB },               { "bridge", NORC_ROLE_BRIDGE },
    };
    for (size_t i = 0; name && i < sizeof services / sizeof services [0]; i++)
        if (strcmp (name, services [i].name) == 0)
            return services [i].bit;
    return 0;
}

bool
norc_key_fingerprint (const char *key, char *fp)
{
    fp [0] = 0;
    uint8_t raw [32];
    if (!key || strlen (key) != 40 || !zmq_z85_decode (raw, key))
        return false;
    zdigest_t *digest = zdigest_new ();
    zdigest_update (digest, raw, sizeof raw);
    const char *hex = zdigest_string (digest);
    for (int i = 0; i < 40; i++)
        fp [i] = (char) tolower ((unsigned char) hex [i]);
    fp [40] = 0;
    zdigest_destroy (&digest);
    return true;
}

bool
norc_principal_admitted (const norc_principal_t *self, int64_t now_us, const char **why)
{
    const char *reason = NULL;
    if (self->state == NORC_PRINCIPAL_PENDING)
        reason = "pending: not accepted yet";
    else
    if (self->state != NORC_PRINCIPAL_ACCEPTED)
        reason = "rejected";
    else
    if (self->revoked_us)
        reason = "revoked";
    else
    if (self->expires_us && now_us >= self->expires_us)
        reason = "expired";
    if (why)
        *why = reason;
    return reason == NULL;
}

//  --------------------------------------------------------------------------
//  The registry: a hash of public keys

struct _norc_registry_t {
    zhashx_t *keys;             //  key -> norc_principal_t
};

static void
s_principal_free (void **item)
{
    norc_principal_t *p = (norc_principal_t *) *item;
    if (p) {
        free (p->name);
        free (p);
    }
    *item = NULL;
}

norc_registry_t *
norc_registry_new (void)
{
    norc_registry_t *self = (norc_registry_t *) norc_calloc (1, sizeof *self);
    self->keys = zhashx_new ();
    zhashx_set_destructor (self->keys, s_principal_free);
    return self;
}

void
norc_registry_destroy (norc_registry_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy (&(*self_p)->keys);
    free (*self_p);
    *self_p = NULL;
}

void
norc_registry_put (norc_registry_t *self, const norc_principal_t *p)
{
    norc_principal_t *copy = (norc_principal_t *) norc_malloc (sizeof *copy);
    *copy = *p;
    copy->name = norc_strdup (p->name ? p->name : "");
    zhashx_update (self->keys, p->key, copy);
}

const norc_principal_t *
norc_registry_find (norc_registry_t *self, const char *key)
{
    return key ? (const norc_principal_t *) zhashx_lookup (self->keys, key) : NULL;
}

size_t
norc_registry_size (norc_registry_t *self)
{
    return zhashx_size (self->keys);
}

const norc_principal_t *
norc_registry_first (norc_registry_t *self)
{
    return (const norc_principal_t *) zhashx_first (self->keys);
}

const norc_principal_t *
norc_registry_next (norc_registry_t *self)
{
    return (const norc_principal_t *) zhashx_next (self->keys);
}

#define S_HEADER "# norc principals 1: key fingerprint name kind roles state expires_us revoked_us\n"

char *
norc_registry_text (norc_registry_t *self)
{
    zlistx_t *keys = zhashx_keys (self->keys);
    zlistx_set_comparator (keys, (zlistx_comparator_fn *) strcmp);
    zlistx_sort (keys);
    size_t cap = strlen (S_HEADER) + 1 + zlistx_size (keys) * 512, len = 0;
    char *text = (char *) norc_malloc (cap);
    len += (size_t) snprintf (text, cap, "%s", S_HEADER);
    for (const char *key = (const char *) zlistx_first (keys); key; key = (const char *) zlistx_next (keys)) {
        const norc_principal_t *p = norc_registry_find (self, key);
        char roles [256];
        norc_roles_format (p->roles, roles, sizeof roles);
        len += (size_t) snprintf (text + len, cap - len, "%s\t%s\t%.64s\t%d\t%s\t%d\t%lld\t%lld\n", p->key,
                                  p->fingerprint, p->name, p->kind, roles, p->state, (long long) p->expires_us,
                                  (long long) p->revoked_us);
    }
    zlistx_destroy (&keys);
    return text;
}

//  One tab-separated field of line into out; the rest after it
static const char *
s_field (const char *line, char *out, size_t outsize)
{
    size_t len = strcspn (line, "\t\n");
    snprintf (out, outsize, "%.*s", (int) (len < outsize ? len : outsize - 1), line);
    return line [len] == '\t' ? line + len + 1 : line + len;
}

//  A whole decimal number from 0
static bool
s_number (const char *text, int64_t *value)
{
    char *end;
    errno = 0;
    long long n = strtoll (text, &end, 10);
    if (!*text || *end || errno || n < 0)
        return false;
    *value = n;
    return true;
}

norc_registry_t *
norc_registry_parse (const char *text, char *err, size_t errsize)
{
    norc_registry_t *self = norc_registry_new ();
    int number = 0;
    for (const char *line = text; line && *line; ) {
        number++;
        const char *end = strchr (line, '\n');
        if (*line != '#' && *line != '\n') {
            char f [8][256];
            const char *p = line;
            for (int i = 0; i < 8; i++)
                p = s_field (p, f [i], sizeof f [i]);
            norc_principal_t entry = { .name = f [2] };
            int64_t kind = 0, state = 0;
            char fp [41];
            char why [160];
            bool ok = norc_key_fingerprint (f [0], fp) && strcmp (fp, f [1]) == 0
                   && norc_roles_parse (f [4], &entry.roles, why, sizeof why) == NORC_OK
                   && s_number (f [3], &kind) && kind >= NORC_PRINCIPAL_USER && kind <= NORC_PRINCIPAL_TOKEN
                   && s_number (f [5], &state) && state >= NORC_PRINCIPAL_PENDING
                   && state <= NORC_PRINCIPAL_REJECTED
                   && s_number (f [6], &entry.expires_us) && s_number (f [7], &entry.revoked_us);
            entry.kind = (int) kind;
            entry.state = (int) state;
            if (!ok) {
                if (err)
                    snprintf (err, errsize, "line %d is not a principal", number);
                norc_registry_destroy (&self);
                return NULL;
            }
            snprintf (entry.key, sizeof entry.key, "%.40s", f [0]);
            snprintf (entry.fingerprint, sizeof entry.fingerprint, "%s", fp);
            norc_registry_put (self, &entry);
        }
        line = end ? end + 1 : NULL;
    }
    return self;
}

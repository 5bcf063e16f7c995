//  norc_principal.h - who may talk to Norc, and what each may ask.
//
//  A principal is a name with roles, holding one CURVE public key (two
//  while a rotation overlaps): a user (norcctl, later the web page), a
//  service (aggregator, scheduler, executor, archiver) or an enrolment
//  token (admitted only to enrol an executor's own key). The registry maps
//  public keys to principals; it is kept in MySQL (common/store/
//  store_principals.c) and copied to a file (the cache a service starts
//  from, and the registry of a service without database credentials).
//  Every message a server receives is authorised by the principal of the
//  key its connection was admitted with, and the role its type or API
//  operation needs (proto/norc_authz.h): never by anything in the message
//  body.
//  See docs/security.md.
#ifndef NORC_PRINCIPAL_H_INCLUDED
#define NORC_PRINCIPAL_H_INCLUDED
#include "norc.h"

//  Roles: a bit each. Users: viewer < operator < admin, and logs:read on
//  top. Services: one role each, for their own message types.
enum {
    NORC_ROLE_VIEWER = 1 << 0,      //  status, reports, definitions, events
    NORC_ROLE_LOGS = 1 << 1,        //  logs:read: instances' output
    NORC_ROLE_OPERATOR = 1 << 2,    //  run, rerun, kill, handle, control, pause, resume
    NORC_ROLE_ADMIN = 1 << 3,       //  definitions, principals, audit
    NORC_ROLE_SCHEDULER = 1 << 4,
    NORC_ROLE_EXECUTOR = 1 << 5,
    NORC_ROLE_ARCHIVER = 1 << 6,
    NORC_ROLE_AGGREGATOR = 1 << 7,
    NORC_ROLE_ENROL = 1 << 8,       //  an enrolment token: keys.enrol only
    NORC_ROLE_WEB = 1 << 9,         //  norc-web: presents the credentials of the people it serves
    NORC_ROLE_BRIDGE = 1 << 10      //  norc-sqs-bridge: carries a queue over SQS, claims its ticks
};
#define NORC_ROLE_ANY 0x7FFu        //  any principal at all

//  Kinds and states: norc_principal_kind_t, norc_principal_state_t (norc_enums.h).

//  Parse a comma list of role names (viewer, logs:read, operator, admin,
//  scheduler, executor, archiver, aggregator); "" is no role. NORC_OK or
//  NORC_ERROR with the reason in err.
int norc_roles_parse (const char *text, uint32_t *roles, char *err, size_t errsize);

//  The comma list of roles (as stored), into out.
void norc_roles_format (uint32_t roles, char *out, size_t outsize);

//  The roles a principal of this kind holding these roles has in effect:
//  admin brings operator, viewer and logs:read; operator brings viewer; a
//  token has enrol and nothing else.
uint32_t norc_roles_effective (int kind, uint32_t roles);

//  Whether a principal of kind with roles may send what needs (roles,
//  any one of them; NORC_ROLE_ANY: any principal, even with no role).
bool norc_roles_allow (int kind, uint32_t roles, uint32_t needs);

//  The kind a principal holding these roles is by default: a service when
//  a service role is among them, else a user.
int norc_roles_kind (uint32_t roles);

//  The service role of a service's own key name (aggregator, scheduler,
//  executor, archiver), or 0.
uint32_t norc_roles_of_service (const char *name);

//  SHA-1 of a Z85 public key's 32 bytes, 40 hex digits, into fp (41 bytes).
//  false when key is not a Z85 public key.
bool norc_key_fingerprint (const char *key, char *fp);

//  One key of the registry.
typedef struct {
    char key [41];              //  Z85 public key
    char fingerprint [41];
    char *name;                 //  "" while pending
    int kind;                   //  NORC_PRINCIPAL_USER, _SERVICE, _TOKEN
    uint32_t roles;             //  as granted (norc_roles_effective says what they allow)
    int state;                  //  NORC_PRINCIPAL_PENDING, _ACCEPTED, _REJECTED
    int64_t expires_us;         //  epoch us; 0: never
    int64_t revoked_us;         //  epoch us; 0: not revoked
} norc_principal_t;

//  Whether a key may connect now: accepted, not revoked, not expired. When
//  not, why (a short phrase) in *why if why is not NULL.
bool norc_principal_admitted (const norc_principal_t *self, int64_t now_us, const char **why);

typedef struct _norc_registry_t norc_registry_t;

norc_registry_t *norc_registry_new (void);
void norc_registry_destroy (norc_registry_t **self_p);
//  Add or replace the entry for p->key (copied).
void norc_registry_put (norc_registry_t *self, const norc_principal_t *p);
//  The entry for a public key, or NULL. Borrowed: valid until the
//  registry changes.
const norc_principal_t *norc_registry_find (norc_registry_t *self, const char *key);
size_t norc_registry_size (norc_registry_t *self);
//  Walk the entries (in no order); NULL at the end.
const norc_principal_t *norc_registry_first (norc_registry_t *self);
const norc_principal_t *norc_registry_next (norc_registry_t *self);

//  The registry as the cache file's text: a header line, then one line per
//  key, tab-separated (key, fingerprint, name, kind, roles, state,
//  expires_us, revoked_us), sorted by key. Caller frees.
char *norc_registry_text (norc_registry_t *self);

//  Parse the cache file's text: a new registry, or NULL with the line at
//  fault in err.
norc_registry_t *norc_registry_parse (const char *text, char *err, size_t errsize);

#endif

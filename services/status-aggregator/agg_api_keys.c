//  agg_api_keys.c - the registry of principals through the API (norcctl
//  keys ...): list, pending, add, accept, reject, revoke, rotate, token and
//  enrol. Every ZAP handler reads the registry again within half a second,
//  so a change here holds on every server, open connections included, by
//  then. docs/security.md says how keys get in and out.
#include "agg_api_internal.h"
#include "norc_mem.h"

#define S_DAY_S 86400

//  A public key in Z85, with its fingerprint into fp
static bool
s_arg_key (const norc_strmap_t *args, const char *key, char *fp, norc_api_reply_t *reply)
{
    const char *value = agg_arg (args, key);
    if (!value || !norc_key_fingerprint (value, fp)) {
        agg_reply_error (reply, NORC_ERROR, "%s: a CURVE public key (40 characters of Z85, as in NAME.key) is "
                         "required", key);
        return false;
    }
    return true;
}

static bool
s_arg_roles (const norc_strmap_t *args, uint32_t *roles, norc_api_reply_t *reply)
{
    char err [256];
    if (norc_roles_parse (agg_arg (args, "roles"), roles, err, sizeof err) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "roles: %s", err);
        return false;
    }
    return true;
}

//  user or service (by default: service when a service role is among the roles)
static bool
s_arg_kind (const norc_strmap_t *args, uint32_t roles, int *kind, norc_api_reply_t *reply)
{
    const char *text = agg_arg (args, "kind");
    if (!text)
        *kind = norc_roles_kind (roles);
    else
    if (strcmp (text, "user") == 0 || strcmp (text, "service") == 0)
        *kind = strcmp (text, "user") == 0 ? NORC_PRINCIPAL_USER : NORC_PRINCIPAL_SERVICE;
    else {
        agg_reply_error (reply, NORC_ERROR, "kind: \"user\" or \"service\", not \"%s\"", text);
        return false;
    }
    return true;
}

//  A fingerprint's first 8 to 40 hex digits
static bool
s_arg_fingerprint (const char *ref, norc_api_reply_t *reply)
{
    size_t len = ref ? strlen (ref) : 0;
    if (len < 8 || len > 40 || strspn (ref, "0123456789abcdef") != len) {
        agg_reply_error (reply, NORC_ERROR, "\"%s\" is not a key fingerprint (8 to 40 of its lower-case hex "
                         "digits, as norcctl keys pending shows it)", ref ? ref : "");
        return false;
    }
    return true;
}

static void
s_reply_rc (agg_api_t *self, norc_api_reply_t *reply, int rc, const char *what, const char *ref)
{
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "%s: no such key (%s)", what, ref);
    else
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "%s: %s", what, ref);
    else
    if (rc)
        agg_reply_store (self, reply, rc, what);
}

static void
s_list (agg_api_t *self, bool pending, norc_api_reply_t *reply)
{
    int rc = norc_store_principal_list (self->db, pending, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot read the registry");
}

void
agg_op_keys_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    s_list (self, false, reply);
}

void
agg_op_keys_pending (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    s_list (self, true, reply);
}

void
agg_op_keys_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_principal_t p = { .name = (char *) agg_arg (args, "name"), .state = NORC_PRINCIPAL_ACCEPTED };
    int64_t expires_s;
    if (!agg_valid_name (p.name, reply, "principal") || !s_arg_key (args, "key", p.fingerprint, reply)
    ||  !s_arg_roles (args, &p.roles, reply) || !s_arg_kind (args, p.roles, &p.kind, reply)
    ||  !agg_arg_int (args, "expires", 0, 100LL * 365 * S_DAY_S, &expires_s, reply))
        return;
    snprintf (p.key, sizeof p.key, "%s", agg_arg (args, "key"));
    p.expires_us = expires_s ? norc_now_us () + expires_s * NORC_US_PER_SEC : 0;
    int rc = norc_store_principal_add (self->db, &p, self->who.name);
    s_reply_rc (self, reply, rc, "cannot add the key", "that key is in the registry already");
    if (!rc)
        norc_strmap_set (norc_rows_add (&reply->rows), "fingerprint", p.fingerprint);
}

void
agg_op_keys_accept (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *ref = agg_arg (args, "ref");
    const char *name = agg_arg (args, "name");
    uint32_t roles;
    int kind;
    if (!s_arg_fingerprint (ref, reply) || !agg_valid_name (name, reply, "principal")
    ||  !s_arg_roles (args, &roles, reply) || !s_arg_kind (args, roles, &kind, reply))
        return;
    int rc = norc_store_principal_accept (self->db, ref, name, kind, roles, self->who.name);
    s_reply_rc (self, reply, rc, "cannot accept", rc == NORC_CONFLICT ? "more than one pending key begins so"
                                                                      : "no pending key begins so");
}

void
agg_op_keys_reject (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *ref = agg_arg (args, "ref");
    if (!s_arg_fingerprint (ref, reply))
        return;
    int rc = norc_store_principal_reject (self->db, ref);
    s_reply_rc (self, reply, rc, "cannot reject", rc == NORC_CONFLICT ? "more than one pending key begins so"
                                                                      : "no pending key begins so");
}

void
agg_op_keys_revoke (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *ref = agg_arg (args, "ref");
    if (!ref) {
        agg_reply_error (reply, NORC_ERROR, "ref: a principal's name or a key's fingerprint is required");
        return;
    }
    uint64_t count = 0;
    int rc = norc_store_principal_revoke (self->db, ref, &count);
    s_reply_rc (self, reply, rc, "cannot revoke", "no live key of that name or fingerprint");
    if (!rc)
        agg_row_u64 (reply, "revoked", count);
}

void
agg_op_keys_rotate (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    char fp [41];
    int64_t overlap_s;
    if (!s_arg_key (args, "key", fp, reply)
    ||  !agg_arg_int (args, "overlap", 3600, 7 * S_DAY_S, &overlap_s, reply))
        return;
    //  A principal rotates its own key; an admin anyone's
    const char *name = agg_arg (args, "name") ? agg_arg (args, "name") : self->who.name;
    bool admin = norc_roles_allow (self->who.kind, self->who.roles, NORC_ROLE_ADMIN);
    if (!norc_zap_curve () || self->who.kind == NORC_PRINCIPAL_TOKEN || (!admin && strcmp (name, self->who.name))) {
        agg_reply_error (reply, NORC_DENIED, "denied: %s may rotate only its own key%s", self->who.name,
                         norc_zap_curve () ? "" : " (and only under CURVE)");
        return;
    }
    int rc = norc_store_principal_rotate (self->db, name, agg_arg (args, "key"), overlap_s * NORC_US_PER_SEC,
                                          self->who.name);
    s_reply_rc (self, reply, rc, "cannot rotate", rc == NORC_CONFLICT ? "that key is in the registry already"
                                                                      : "no live key of that name");
    if (!rc)
        norc_strmap_set (norc_rows_add (&reply->rows), "fingerprint", fp);
}

void
agg_op_keys_token (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    norc_principal_t p = { .name = (char *) agg_arg (args, "name"), .kind = NORC_PRINCIPAL_TOKEN,
                           .state = NORC_PRINCIPAL_ACCEPTED };
    int64_t expires_s;
    if (!agg_valid_name (p.name, reply, "principal") || !s_arg_roles (args, &p.roles, reply)
    ||  !agg_arg_int (args, "expires", S_DAY_S, S_DAY_S, &expires_s, reply))
        return;
    if (expires_s == 0) {
        agg_reply_error (reply, NORC_ERROR, "expires: from 1 s to a day");
        return;
    }
    //  The token is the secret half of a key pair; the registry holds the public half
    char secret [41];
    if (zmq_curve_keypair (p.key, secret) != 0) {
        agg_reply_error (reply, NORC_ERROR, "cannot make a token: %s", zmq_strerror (zmq_errno ()));
        return;
    }
    norc_key_fingerprint (p.key, p.fingerprint);
    p.expires_us = norc_now_us () + expires_s * NORC_US_PER_SEC;
    int rc = norc_store_principal_add (self->db, &p, self->who.name);
    s_reply_rc (self, reply, rc, "cannot make a token", "try again");
    if (!rc) {
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        norc_strmap_set (row, "token", secret);
        norc_strmap_set (row, "fingerprint", p.fingerprint);
    }
}

void
agg_op_keys_enrol (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    char fp [41];
    if (!s_arg_key (args, "key", fp, reply))
        return;
    char name [65] = "";
    int rc = norc_store_principal_enrol (self->db, self->user_id ? self->user_id : "", agg_arg (args, "key"), name);
    s_reply_rc (self, reply, rc, "cannot enrol", rc == NORC_CONFLICT ? "that key is in the registry already"
                                                                     : "the token is spent or expired");
    if (!rc) {
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        norc_strmap_set (row, "name", name);
        norc_strmap_set (row, "fingerprint", fp);
    }
}

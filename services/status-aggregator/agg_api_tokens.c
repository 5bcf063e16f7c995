//  agg_api_tokens.c - API tokens through the API (norcctl token ...): add,
//  list, revoke; and the credential a front end (norc-web) presents for
//  the person it serves, resolved to that person's name and roles.
//  docs/web.md says how a request over HTTP is authorised.
#include "agg_api_internal.h"
#include "norc_secret.h"
#include "norc_mem.h"
#include <sodium.h>

#define S_DAY_S 86400

void
agg_op_token_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    uint32_t roles;
    char err [256], roles_text [256];
    int64_t expires_s;
    if (!agg_valid_name (name, reply, "token")
    ||  !agg_arg_int (args, "expires", 90 * S_DAY_S, 10 * 365 * S_DAY_S, &expires_s, reply))
        return;
    if (norc_roles_parse (agg_arg (args, "roles"), &roles, err, sizeof err) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "roles: %s", err);
        return;
    }
    //  A token is a person's or a program's: never a service's roles
    uint32_t people = NORC_ROLE_VIEWER | NORC_ROLE_LOGS | NORC_ROLE_OPERATOR | NORC_ROLE_ADMIN;
    if (!roles || (roles & ~people)) {
        agg_reply_error (reply, NORC_ERROR, "roles: a token holds viewer, logs:read, operator or admin");
        return;
    }
    norc_roles_format (roles, roles_text, sizeof roles_text);
    char secret [NORC_SECRET_MAX], hash [65];
    norc_secret_new ("norc_", secret);
    norc_secret_hash (secret, hash);
    norc_token_t t = { .name = name, .principal = name, .kind = NORC_TOKEN_API, .roles = roles_text,
                       .secret_hash = hash,
                       .expires = expires_s ? norc_now_us () + expires_s * NORC_US_PER_SEC : 0 };
    int rc = norc_store_token_add (self->db, &t, self->who.name);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "a live token named \"%s\" exists: revoke it first, or choose another name", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the token");
    else {
        char text [40];
        norc_strmap_t *row = norc_rows_add (&reply->rows);
        snprintf (text, sizeof text, "%llu", (unsigned long long) t.id);
        norc_strmap_set (row, "id", text);
        norc_strmap_set (row, "name", name);
        norc_strmap_set (row, "token", secret);
        norc_strmap_set (row, "expires_at", t.expires ? norc_time_iso (t.expires, text, sizeof text) : "");
    }
}

void
agg_op_token_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_token_list (self->db, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot list tokens");
}

void
agg_op_token_revoke (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *ref = agg_arg (args, "ref");
    uint64_t count = 0;
    int rc = ref ? norc_store_token_revoke (self->db, ref, &count) : NORC_NOTFOUND;
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "no live token \"%s\"", ref ? ref : "");
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot revoke");
    else
        agg_row_u64 (reply, "revoked", count);
}

int
agg_api_credential (agg_api_t *self, const char *credential, norc_zap_who_t *who, const char **why)
{
    char hash [65], principal [65], roles_text [256], err [256];
    uint64_t id = 0;
    norc_secret_hash (credential, hash);
    int rc = norc_store_token_find (self->db, hash, &id, principal, roles_text);
    if (rc == NORC_NOTFOUND) {
        *why = "the credential is not valid (unknown, expired or revoked)";
        return NORC_UNAUTHENTICATED;
    }
    if (rc) {
        *why = "the credential cannot be checked now: the database is unavailable";
        return rc;
    }
    uint32_t roles = 0;
    if (norc_roles_parse (roles_text, &roles, err, sizeof err) != NORC_OK)
        roles = 0;
    *who = (norc_zap_who_t) { .kind = NORC_PRINCIPAL_USER, .roles = roles };
    snprintf (who->name, sizeof who->name, "%s", principal);
    snprintf (who->fingerprint, sizeof who->fingerprint, "token:%llu", (unsigned long long) id);
    return NORC_OK;
}

//  --------------------------------------------------------------------------
//  Local users and their sessions

#define S_SESSION_S     (12 * 3600)     //  a session lasts this long
#define S_LOCK_AFTER    5               //  failed logins in a row before ...
#define S_LOCK_S        60              //  ... the user is locked out this long
#define S_PASSWORD_MIN  12

static bool
s_people_roles (const char *text, char *roles_text, norc_api_reply_t *reply)
{
    uint32_t roles;
    char err [256];
    if (norc_roles_parse (text, &roles, err, sizeof err) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "roles: %s", err);
        return false;
    }
    uint32_t people = NORC_ROLE_VIEWER | NORC_ROLE_LOGS | NORC_ROLE_OPERATOR | NORC_ROLE_ADMIN;
    if (!roles || (roles & ~people)) {
        agg_reply_error (reply, NORC_ERROR, "roles: a person holds viewer, logs:read, operator or admin");
        return false;
    }
    norc_roles_format (roles, roles_text, 256);
    return true;
}

void
agg_op_user_add (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    const char *password = agg_arg (args, "password");
    char roles [256];
    if (!agg_valid_name (name, reply, "user") || !s_people_roles (agg_arg (args, "roles"), roles, reply))
        return;
    if (sodium_init () < 0) {
        agg_reply_error (reply, NORC_ERROR, "cannot hash the password: libsodium does not start");
        return;
    }
    if (!password || strlen (password) < S_PASSWORD_MIN) {
        agg_reply_error (reply, NORC_ERROR, "password: %d characters at least", S_PASSWORD_MIN);
        return;
    }
    char hash [crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str (hash, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        agg_reply_error (reply, NORC_ERROR, "cannot hash the password: out of memory");
        return;
    }
    int rc = norc_store_user_add (self->db, name, hash, roles, self->who.name);
    if (rc == NORC_CONFLICT)
        agg_reply_error (reply, rc, "a user named \"%s\" exists", name);
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot add the user");
    else
        norc_strmap_set (norc_rows_add (&reply->rows), "name", name);
}

void
agg_op_user_list (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    int rc = norc_store_user_list (self->db, &reply->rows);
    if (rc)
        agg_reply_store (self, reply, rc, "cannot list users");
}

void
agg_op_user_rm (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    int rc = name ? norc_store_user_rm (self->db, name) : NORC_NOTFOUND;
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, rc, "unknown user \"%s\"", name ? name : "");
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot remove the user");
}

//  A hash no password matches, checked for an unknown user too, so that
//  the time a refusal takes does not tell which names exist
static const char *
s_decoy (void)
{
    static char decoy [crypto_pwhash_STRBYTES];
    if (!*decoy) {
        char random [NORC_SECRET_MAX];
        norc_secret_new ("", random);
        if (crypto_pwhash_str (decoy, random, strlen (random), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
            *decoy = 0;
    }
    return decoy;
}

void
agg_op_session_open (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    const char *name = agg_arg (args, "name");
    const char *password = agg_arg (args, "password");
    char hash [256] = "", roles [256] = "";
    bool locked = false;
    int rc = name ? norc_store_user_get (self->db, name, hash, roles, &locked) : NORC_NOTFOUND;
    if (rc && rc != NORC_NOTFOUND) {
        agg_reply_store (self, reply, rc, "cannot check the login");
        return;
    }
    bool known = rc == NORC_OK;
    if (sodium_init () < 0) {
        agg_reply_error (reply, NORC_ERROR, "cannot check the password: libsodium does not start");
        return;
    }
    bool good = password && crypto_pwhash_str_verify (known ? hash : s_decoy (), password, strlen (password)) == 0;
    if (known && locked) {
        agg_reply_error (reply, NORC_DENIED, "too many failed logins for %s: locked out for a minute", name);
        return;
    }
    if (known)
        norc_store_user_login (self->db, name, good && known, S_LOCK_AFTER, S_LOCK_S);
    if (!good || !known) {
        agg_reply_error (reply, NORC_UNAUTHENTICATED, "wrong name or password");
        return;
    }
    char secret [NORC_SECRET_MAX], secret_hash [65], text [40];
    norc_secret_new ("norc_s_", secret);
    norc_secret_hash (secret, secret_hash);
    norc_token_t t = { .name = name, .principal = name, .kind = NORC_TOKEN_SESSION, .roles = roles,
                       .secret_hash = secret_hash, .expires = norc_now_us () + S_SESSION_S * NORC_US_PER_SEC };
    rc = norc_store_token_add (self->db, &t, self->who.name);
    if (rc) {
        agg_reply_store (self, reply, rc, "cannot open the session");
        return;
    }
    norc_strmap_t *row = norc_rows_add (&reply->rows);
    norc_strmap_set (row, "token", secret);
    norc_strmap_set (row, "name", name);
    norc_strmap_set (row, "roles", roles);
    norc_strmap_set (row, "expires_at", norc_time_iso (t.expires, text, sizeof text));
    sodium_memzero (secret, sizeof secret);
}

void
agg_op_session_close (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply)
{
    NORC_UNUSED (args);
    uint64_t id = 0;
    if (strncmp (self->who.fingerprint, "token:", 6) != 0
    ||  norc_id_parse (self->who.fingerprint + 6, &id) != NORC_OK) {
        agg_reply_error (reply, NORC_ERROR, "only a session's own credential closes it");
        return;
    }
    int rc = norc_store_session_end (self->db, id);
    if (rc == NORC_NOTFOUND)
        agg_reply_error (reply, NORC_CONFLICT, "this credential is not a session (an API token ends with "
                         "token.revoke)");
    else
    if (rc)
        agg_reply_store (self, reply, rc, "cannot close the session");
    else
        agg_row_u64 (reply, "closed", 1);
}

//  agg_api_tokens.c - API tokens through the API (norcctl token ...): add,
//  list, revoke; and the credential a front end (norc-web) presents for
//  the person it serves, resolved to that person's name and roles.
//  docs/web.md says how a request over HTTP is authorised.
#include "agg_api_internal.h"
#include "norc_secret.h"
#include "norc_mem.h"

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

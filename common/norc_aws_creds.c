//  norc_aws_creds.c - see norc_aws_creds.h.
#include "norc_aws_creds.h"
#include "norc_buf.h"
#include "norc_mem.h"
#include "norc_http.h"
#include <jansson.h>
#include <sodium.h>
#include <time.h>

static const char *
s_env (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

static bool
s_set (char *into, size_t size, const char *value)
{
    return (size_t) snprintf (into, size, "%s", value ? value : "") < size;
}

norc_us_t
norc_aws_creds_time (const char *text)
{
    struct tm tm = { 0 };
    const char *end = text ? strptime (text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end)
        return 0;
    //  fractions of a second, then Z (or +00:00)
    while (*end == '.' || (*end >= '0' && *end <= '9'))
        end++;
    if (strcmp (end, "Z") && strcmp (end, "+00:00"))
        return 0;
    time_t when = timegm (&tm);
    return when > 0 ? (norc_us_t) when * NORC_US_PER_SEC : 0;
}

bool
norc_aws_creds_due (const norc_aws_creds_t *creds, norc_us_t now)
{
    if (!creds->expires)
        return false;
    norc_us_t left = creds->expires - now;
    norc_us_t margin = (creds->expires - creds->obtained) / 2;
    if (margin > 300 * NORC_US_PER_SEC)
        margin = 300 * NORC_US_PER_SEC;
    return left <= margin;
}

//  {AccessKeyId, SecretAccessKey, Token, Expiration}: the answer of the
//  container endpoint and of IMDS alike
static bool
s_from_json (const char *body, norc_aws_creds_t *creds, const char *source)
{
    json_t *root = body ? json_loads (body, 0, NULL) : NULL;
    const char *key = json_string_value (json_object_get (root, "AccessKeyId"));
    const char *secret = json_string_value (json_object_get (root, "SecretAccessKey"));
    const char *token = json_string_value (json_object_get (root, "Token"));
    const char *expiration = json_string_value (json_object_get (root, "Expiration"));
    bool ok = key && secret && s_set (creds->access_key, sizeof creds->access_key, key)
           && s_set (creds->secret_key, sizeof creds->secret_key, secret)
           && s_set (creds->session_token, sizeof creds->session_token, token);
    if (ok) {
        creds->obtained = norc_now_us ();
        creds->expires = norc_aws_creds_time (expiration);
        s_set (creds->source, sizeof creds->source, source);
    }
    json_decref (root);
    return ok;
}

static bool
s_container (norc_aws_creds_t *creds, long timeout_ms, char *why, size_t whysize)
{
    const char *full = s_env ("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *relative = s_env ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (!full && !relative)
        return false;
    char *url = full ? norc_strdup (full) : norc_asprintf ("http://169.254.170.2%s", relative);
    char *token = NULL;
    const char *token_file = s_env ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (token_file) {
        FILE *file = fopen (token_file, "r");
        char line [4096] = "";
        if (file && fgets (line, sizeof line, file))
            line [strcspn (line, "\r\n")] = 0;
        if (file)
            fclose (file);
        token = *line ? norc_strdup (line) : NULL;
    }
    else
    if (s_env ("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        token = norc_strdup (s_env ("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    char *header = token ? norc_asprintf ("Authorization: %s", token) : NULL;
    char *body = norc_http_plain ("GET", url, header, NULL, timeout_ms);
    bool ok = s_from_json (body, creds, "container");
    if (!ok)
        snprintf (why, whysize, "the container credentials endpoint (%s) gave none", url);
    if (body)
        sodium_memzero (body, strlen (body));
    free (body);
    if (header)
        sodium_memzero (header, strlen (header));
    free (header);
    free (token);
    free (url);
    return ok;
}

static bool
s_instance (norc_aws_creds_t *creds, long timeout_ms, char *why, size_t whysize)
{
    const char *disabled = s_env ("AWS_EC2_METADATA_DISABLED");
    if (disabled && strcasecmp (disabled, "true") == 0)
        return false;
    const char *base = s_env ("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char *root = norc_strdup (base ? base : "http://169.254.169.254");
    size_t len = strlen (root);
    while (len && root [len - 1] == '/')
        root [--len] = 0;
    //  IMDSv2: a session token first (v1's unauthenticated GETs are never used)
    char *url = norc_asprintf ("%s/latest/api/token", root);
    char *token = norc_http_plain ("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL, timeout_ms);
    free (url);
    bool ok = false;
    if (token) {
        token [strcspn (token, "\r\n")] = 0;
        char *header = norc_asprintf ("X-aws-ec2-metadata-token: %s", token);
        url = norc_asprintf ("%s/latest/meta-data/iam/security-credentials/", root);
        char *role = norc_http_plain ("GET", url, header, NULL, timeout_ms);
        free (url);
        if (role) {
            role [strcspn (role, "\r\n")] = 0;
            url = norc_asprintf ("%s/latest/meta-data/iam/security-credentials/%s", root, role);
            char *body = *role ? norc_http_plain ("GET", url, header, NULL, timeout_ms) : NULL;
            ok = s_from_json (body, creds, "instance metadata");
            if (body)
                sodium_memzero (body, strlen (body));
            free (body);
            free (url);
        }
        free (role);
        free (header);
        free (token);
    }
    if (!ok)
        snprintf (why, whysize, "no instance metadata service (IMDSv2) at %s gave a role's credentials", root);
    free (root);
    return ok;
}

int
norc_aws_creds_get (const norc_aws_creds_config_t *config, norc_aws_creds_t *creds, char *why, size_t whysize)
{
    memset (creds, 0, sizeof *creds);
    const char *key = s_env ("AWS_ACCESS_KEY_ID"), *secret = s_env ("AWS_SECRET_ACCESS_KEY");
    if (key && secret) {
        if (!s_set (creds->access_key, sizeof creds->access_key, key)
        ||  !s_set (creds->secret_key, sizeof creds->secret_key, secret)
        ||  !s_set (creds->session_token, sizeof creds->session_token, s_env ("AWS_SESSION_TOKEN"))) {
            sodium_memzero (creds, sizeof *creds);
            snprintf (why, whysize, "a credential of the environment is too long");
            return NORC_ERROR;
        }
        creds->obtained = norc_now_us ();
        s_set (creds->source, sizeof creds->source, "environment");
        return NORC_OK;
    }
    if (config && config->access_key_id && *config->access_key_id) {
        FILE *file = config->secret_file && *config->secret_file ? fopen (config->secret_file, "r") : NULL;
        char line [256] = "";
        if (file && fgets (line, sizeof line, file))
            line [strcspn (line, "\r\n")] = 0;
        if (file)
            fclose (file);
        bool ok = *line && s_set (creds->access_key, sizeof creds->access_key, config->access_key_id)
               && s_set (creds->secret_key, sizeof creds->secret_key, line);
        sodium_memzero (line, sizeof line);
        if (!ok) {
            sodium_memzero (creds, sizeof *creds);
            snprintf (why, whysize, "aws.access_key_id is set, and aws.secret_access_key_file (%s) holds no secret",
                      config->secret_file && *config->secret_file ? config->secret_file : "not set");
            return NORC_ERROR;
        }
        creds->obtained = norc_now_us ();
        s_set (creds->source, sizeof creds->source, "configuration");
        return NORC_OK;
    }
    long timeout = config && config->timeout_ms > 0 ? config->timeout_ms : 1000;
    char container_why [256] = "", instance_why [256] = "";
    if (s_container (creds, timeout, container_why, sizeof container_why)
    ||  s_instance (creds, timeout, instance_why, sizeof instance_why))
        return NORC_OK;
    sodium_memzero (creds, sizeof *creds);
    snprintf (why, whysize, "no credentials: not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), "
              "not in the configuration (aws.access_key_id), %s; %s",
              *container_why ? container_why : "no container credentials endpoint",
              *instance_why ? instance_why : "the instance metadata service is disabled");
    return NORC_ERROR;
}

//  ctl_api.c - how norcctl's commands talk to the status-aggregator: the
//  words and flags of a command become one API-REQUEST, sent and answered
//  within api.timeout_ms, printed as a table, a record or JSON. Nothing
//  listening is one clear line and exit 1. The commands are in ctl_defs.c,
//  ctl_runs.c and ctl_follow.c.
#include "ctl_api_internal.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

//  Parse words: flags from the table into args, the rest into positional.
//  Returns CTL_OK or CTL_USAGE (printed).
int
ctl_api_parse (int argc, char **argv, const ctl_flag_t *flags, norc_strmap_t *args,
         const char **positional, int max_positional, int *npositional, bool *json)
{
    *npositional = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp (argv [i], "--json") == 0) {
            if (json)
                *json = true;
            continue;
        }
        bool matched = false;
        for (const ctl_flag_t *f = flags; f && f->flag && !matched; f++) {
            if (strcmp (argv [i], f->flag) != 0)
                continue;
            matched = true;
            if (!f->has_value)
                norc_strmap_set (args, f->key, "1");
            else
            if (i + 1 >= argc) {
                fprintf (stderr, "norcctl: %s needs a value\n", f->flag);
                return CTL_USAGE;
            }
            else
            if (strcmp (f->key, "env") == 0 || strcmp (f->key, "secret") == 0) {
                const char *kv = argv [++i];
                const char *eq = strchr (kv, '=');
                if (!eq || eq == kv) {
                    fprintf (stderr, "norcctl: %s needs NAME=VALUE, not \"%s\"\n", f->flag, kv);
                    return CTL_USAGE;
                }
                char *key = norc_asprintf ("%s.%.*s", f->key, (int) (eq - kv), kv);
                norc_strmap_set (args, key, eq + 1);
                free (key);
            }
            else
                norc_strmap_set (args, f->key, argv [++i]);
        }
        if (matched)
            continue;
        if (argv [i][0] == '-' && argv [i][1] && !(argv [i][1] >= '0' && argv [i][1] <= '9')) {
            fprintf (stderr, "norcctl: unknown option %s (see norcctl help)\n", argv [i]);
            return CTL_USAGE;
        }
        if (*npositional >= max_positional) {
            fprintf (stderr, "norcctl: unexpected argument \"%s\" (see norcctl help)\n", argv [i]);
            return CTL_USAGE;
        }
        positional [(*npositional)++] = argv [i];
    }
    return CTL_OK;
}

//  Ask the aggregator. Returns the reply (caller destroys) or NULL after
//  printing why.
norc_msg_t *
ctl_api_call (norc_config_t *config, const char *op, norc_strmap_t *args)
{
    const char *endpoint = norc_config_str (config, "aggregator.api");
    int timeout = (int) norc_config_int (config, "api.timeout_ms");
    //  The documented limits, checked before anything is sent
    if (args && args->count > NORC_API_ARGS_MAX) {
        fprintf (stderr, "norcctl: %zu arguments, over the limit of %d\n", args->count, NORC_API_ARGS_MAX);
        return NULL;
    }
    for (size_t i = 0; args && i < args->count; i++) {
        size_t len = strlen (args->values [i]);
        size_t limit = strcmp (args->keys [i], "command") == 0 ? NORC_COMMAND_MAX : NORC_API_VALUE_MAX;
        if (len > limit) {
            fprintf (stderr, "norcctl: the %s is %zu bytes, over the limit of %zu\n", args->keys [i], len, limit);
            return NULL;
        }
    }
    zsock_t *sock = norc_zmq_connect (ZMQ_DEALER, endpoint);
    if (!sock) {
        fprintf (stderr, "norcctl: cannot connect to %s\n", endpoint);
        return NULL;
    }
    norc_msg_t *msg = norc_msg_new (NORC_MSG_API_REQUEST);
    uint64_t request_id = (uint64_t) norc_now_us ();
    msg->api_request.request_id = request_id;
    msg->api_request.op = norc_strdup (op);
    for (size_t i = 0; args && i < args->count; i++)
        norc_strmap_set (&msg->api_request.args, args->keys [i], args->values [i]);
    norc_msg_send (&msg, sock);
    norc_msg_t *reply = NULL;
    norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout * 1000;
    while (!reply && norc_mono_us () < deadline) {
        int left = (int) ((deadline - norc_mono_us ()) / 1000) + 1;
        if (norc_zmq_wait (sock, left) != NORC_OK)
            break;
        reply = norc_msg_recv (sock);
        if (reply && (reply->id != NORC_MSG_API_REPLY || reply->api_reply.request_id != request_id))
            norc_msg_destroy (&reply);
    }
    zsock_set_linger (sock, 0);
    zsock_destroy (&sock);
    if (!reply)
        fprintf (stderr, "norcctl: nothing answered at %s within %d ms: is the status-aggregator running?\n",
                 endpoint, timeout);
    return reply;
}

//  Call, print an error reply, return the exit code; *reply_p gets the
//  reply on success (may be NULL to discard).
int
ctl_api_request (norc_config_t *config, const char *op, norc_strmap_t *args, norc_msg_t **reply_p)
{
    //  Who asks, for the record (control requests, kills, handling)
    char by [300];
    char host [256] = "";
    gethostname (host, sizeof host);
    snprintf (by, sizeof by, "%s@%s", getenv ("USER") ? getenv ("USER") : "norcctl", host);
    norc_strmap_set (args, "by", by);
    norc_msg_t *reply = ctl_api_call (config, op, args);
    if (!reply)
        return CTL_FAIL;
    if (reply->api_reply.code != NORC_OK) {
        fprintf (stderr, "norcctl: %s\n", reply->api_reply.error ? reply->api_reply.error : "failed");
        norc_msg_destroy (&reply);
        return CTL_FAIL;
    }
    const char *warning = reply->api_reply.rows.count
                        ? norc_strmap_get (&reply->api_reply.rows.rows [0], "warning") : NULL;
    if (warning)
        fprintf (stderr, "norcctl: warning: %s\n", warning);
    if (reply_p)
        *reply_p = reply;
    else
        norc_msg_destroy (&reply);
    return CTL_OK;
}

//  A positional word for an "id" key must be a record id: CTL_USAGE
//  (printed) when it is not.
int
ctl_api_check_id (const char *key, const char *text)
{
    uint64_t id;
    if (strcmp (key, "id") != 0 || norc_id_parse (text, &id) == NORC_OK)
        return CTL_OK;
    fprintf (stderr, "norcctl: \"%s\" is not an id (a number from 1, # allowed)\n", text);
    return CTL_USAGE;
}

//  A command with N required positional words mapped to keys, flags, and
//  an output: columns (table) or a one-line message.
int
ctl_api_simple (norc_config_t *config, int argc, char **argv, const char *op, const char **keys,
          int required, const ctl_flag_t *flags, const ctl_column_t *columns, const char *done)
{
    norc_strmap_t args = { 0 };
    const char *pos [8];
    int npos;
    bool json = false;
    int rc = ctl_api_parse (argc, argv, flags, &args, pos, 8, &npos, &json);
    if (rc == CTL_OK && npos != required) {
        fprintf (stderr, "norcctl: %s needs %d argument%s (see norcctl help)\n", op, required,
                 required == 1 ? "" : "s");
        rc = CTL_USAGE;
    }
    for (int i = 0; rc == CTL_OK && i < npos; i++) {
        rc = ctl_api_check_id (keys [i], pos [i]);
        norc_strmap_set (&args, keys [i], pos [i]);
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK)
        rc = ctl_api_request (config, op, &args, &reply);
    if (rc == CTL_OK) {
        if (json)
            ctl_print_json (stdout, op, &reply->api_reply.rows);
        else
        if (columns)
            ctl_print_table (stdout, op, &reply->api_reply.rows, columns);
        else
        if (done) {
            const char *id = reply->api_reply.rows.count
                           ? norc_strmap_get (&reply->api_reply.rows.rows [0], "id") : NULL;
            printf (done, npos ? pos [0] : "", id ? id : "");
            printf ("\n");
        }
    }
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

int
ctl_api_print_record (norc_config_t *config, int argc, char **argv, const char *op, const char **keys, int required)
{
    norc_strmap_t args = { 0 };
    const char *pos [8];
    int npos;
    bool json = false;
    int rc = ctl_api_parse (argc, argv, NULL, &args, pos, 8, &npos, &json);
    if (rc == CTL_OK && npos != required) {
        fprintf (stderr, "norcctl: %s needs %d argument%s\n", op, required, required == 1 ? "" : "s");
        rc = CTL_USAGE;
    }
    for (int i = 0; rc == CTL_OK && i < npos; i++) {
        rc = ctl_api_check_id (keys [i], pos [i]);
        norc_strmap_set (&args, keys [i], pos [i]);
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK)
        rc = ctl_api_request (config, op, &args, &reply);
    if (rc == CTL_OK && json)
        ctl_print_json (stdout, op, &reply->api_reply.rows);
    else
    if (rc == CTL_OK)
        for (size_t r = 0; r < reply->api_reply.rows.count; r++) {
            norc_strmap_t *row = &reply->api_reply.rows.rows [r];
            for (size_t k = 0; k < row->count; k++) {
                const char *value = row->values [k];
                if (strcmp (row->keys [k], "status") == 0 && norc_status_name (atoi (value)))
                    value = norc_status_name (atoi (value));
                printf ("%-16s %s\n", row->keys [k], value);
            }
        }
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

//  The generic command: its positional words and options make its
//  operation's arguments; the reply is printed as the command says
int
ctl_api_command (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    if (cmd->record)
        return ctl_api_print_record (config, argc, argv, cmd->op, cmd->pos, cmd->npos);
    return ctl_api_simple (config, argc, argv, cmd->op, cmd->pos, cmd->npos, cmd->flags, cmd->table, cmd->done);
}

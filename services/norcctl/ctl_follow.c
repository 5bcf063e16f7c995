//  ctl_follow.c - norcctl commands that follow what happens: logs (from
//  the log-archiver), events (the public stream, one JSON object per
//  line), and the audit.
#include "ctl_api_internal.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  logs: from the log-archiver

//  Send one fetch and wait up to timeout_ms for its LOG-DATA (answers to
//  earlier fetches are skipped): the answer (caller destroys), or NULL
static norc_msg_t *
s_fetch (zsock_t *sock, norc_msg_t **fetch_p, int timeout_ms)
{
    uint64_t request_id = (*fetch_p)->log_fetch.request_id;
    norc_msg_send (fetch_p, sock);
    norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout_ms * 1000;
    norc_msg_t *data = NULL;
    while (!data && norc_mono_us () < deadline
       &&  norc_zmq_wait (sock, (int) ((deadline - norc_mono_us ()) / 1000) + 1) == NORC_OK) {
        data = norc_msg_recv (sock);
        if (data && (data->id != NORC_MSG_LOG_DATA || data->log_data.request_id != request_id))
            norc_msg_destroy (&data);
    }
    return data;
}

int
ctl_api_logs (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    const char *usage = "norcctl: logs [-f] [--offset N] [--limit N] [--tail N] INSTANCE-ID";
    bool follow = false;
    const char *id_text = NULL;
    int64_t offset_arg = 0, limit = -1, tail = 0;
    for (int i = 0; i < argc; i++) {
        int64_t *number = strcmp (argv [i], "--offset") == 0 ? &offset_arg
                        : strcmp (argv [i], "--limit") == 0 ? &limit
                        : strcmp (argv [i], "--tail") == 0 ? &tail : NULL;
        if (number) {
            char *end = NULL;
            *number = i + 1 < argc ? strtoll (argv [i + 1], &end, 10) : -1;
            if (!end || *end || *number < 0 || (number == &tail && *number == 0)) {
                fprintf (stderr, "norcctl: %s takes a number of bytes (from 0; --tail from 1)\n", argv [i]);
                return CTL_USAGE;
            }
            i++;
        }
        else
        if (strcmp (argv [i], "-f") == 0 || strcmp (argv [i], "--follow") == 0)
            follow = true;
        else
        if (!id_text)
            id_text = argv [i];
        else {
            fprintf (stderr, "%s\n", usage);
            return CTL_USAGE;
        }
    }
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        if (id_text)
            fprintf (stderr, "norcctl: \"%s\" is not an instance id (a number from 1, # allowed)\n", id_text);
        else
            fprintf (stderr, "%s (a number, # allowed)\n", usage);
        return CTL_USAGE;
    }
    if (tail && offset_arg) {
        fprintf (stderr, "norcctl: --tail or --offset, not both\n");
        return CTL_USAGE;
    }
    const char *endpoint = norc_config_str (config, "archiver.fetch");
    int timeout = (int) norc_config_int (config, "api.timeout_ms");
    zsock_t *sock = norc_zmq_connect (ZMQ_DEALER, endpoint);
    if (!sock)
        return CTL_FAIL;
    uint64_t offset = (uint64_t) offset_arg;
    uint64_t left = limit >= 0 ? (uint64_t) limit : UINT64_MAX;
    uint64_t request_id = 0;
    int rc = CTL_OK;
    while (!zsys_interrupted && left) {
        norc_msg_t *fetch = norc_msg_new (NORC_MSG_LOG_FETCH);
        fetch->log_fetch.instance_id = id;
        fetch->log_fetch.offset = offset;
        fetch->log_fetch.tail = request_id ? 0 : (uint64_t) tail;
        fetch->log_fetch.max_bytes = left < 1024 * 1024 ? left : 1024 * 1024;
        fetch->log_fetch.follow = follow;
        fetch->log_fetch.request_id = ++request_id;
        norc_msg_t *data = s_fetch (sock, &fetch, timeout + 1000);
        if (!data && zsys_interrupted)
            break;              //  Ctrl-C while following: not a fault of the archiver
        if (!data) {
            fprintf (stderr, "norcctl: nothing answered at %s within %d ms: is the log-archiver running?\n",
                     endpoint, timeout);
            rc = CTL_FAIL;
            break;
        }
        norc_log_data_t *d = &data->log_data;
        if (d->error && *d->error && !follow) {
            fprintf (stderr, "norcctl: %s\n", d->error);
            rc = CTL_FAIL;
            norc_msg_destroy (&data);
            break;
        }
        if (d->data.size) {
            fwrite (d->data.data, 1, d->data.size, stdout);
            fflush (stdout);
            left -= d->data.size < left ? d->data.size : left;
        }
        offset = d->offset + d->data.size;
        bool done = d->complete || (!follow && d->data.size == 0);
        norc_msg_destroy (&data);
        if (done)
            break;
    }
    zsock_set_linger (sock, 0);
    zsock_destroy (&sock);
    return rc;
}

//  --------------------------------------------------------------------------
//  logs verify: the copy in S3, read back through the log-archiver, against
//  the record's size and SHA-256

int
ctl_api_logs_verify (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    uint64_t id;
    if (argc != 1 || norc_id_parse (argv [0], &id) != NORC_OK) {
        fprintf (stderr, "norcctl: logs verify INSTANCE-ID (a number, # allowed)\n");
        return CTL_USAGE;
    }
    norc_strmap_t args = { 0 };
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) id);
    norc_strmap_set (&args, "id", text);
    norc_msg_t *shown = NULL;
    int rc = ctl_api_request (config, "instance.show", &args, &shown);
    norc_strmap_clear (&args);
    if (rc)
        return rc;
    const norc_strmap_t *row = shown->api_reply.rows.count ? &shown->api_reply.rows.rows [0] : NULL;
    const char *key = row ? norc_strmap_get (row, "archive_key") : NULL;
    const char *want = row ? norc_strmap_get (row, "archive_sha256") : NULL;
    const char *size_text = row ? norc_strmap_get (row, "archive_size") : NULL;
    if (!key || !want || !size_text) {
        fprintf (stderr, "norcctl: instance %llu: its log is not archived (yet): the record holds no object\n",
                 (unsigned long long) id);
        norc_msg_destroy (&shown);
        return CTL_FAIL;
    }
    uint64_t want_size = strtoull (size_text, NULL, 10);
    const char *endpoint = norc_config_str (config, "archiver.fetch");
    int timeout = (int) norc_config_int (config, "api.timeout_ms");
    zsock_t *sock = norc_zmq_connect (ZMQ_DEALER, endpoint);
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    uint64_t offset = 0, request_id = 0;
    char meta [65] = "", error [1100] = "";
    bool complete = false;
    while (sock && !complete && !error [0] && !zsys_interrupted) {
        norc_msg_t *fetch = norc_msg_new (NORC_MSG_LOG_FETCH);
        fetch->log_fetch.instance_id = id;
        fetch->log_fetch.offset = offset;
        fetch->log_fetch.max_bytes = 1024 * 1024;
        fetch->log_fetch.archive = true;
        fetch->log_fetch.request_id = ++request_id;
        norc_msg_t *data = s_fetch (sock, &fetch, timeout + 1000);
        if (!data) {
            snprintf (error, sizeof error, "nothing answered at %s within %d ms: is the log-archiver running?",
                      endpoint, timeout);
            break;
        }
        norc_log_data_t *d = &data->log_data;
        if (d->error && *d->error)
            snprintf (error, sizeof error, "%s", d->error);
        else
        if (d->offset != offset || (!d->data.size && !d->complete))
            snprintf (error, sizeof error, "the archive answered bytes at %llu for %llu",
                      (unsigned long long) d->offset, (unsigned long long) offset);
        else {
            crypto_hash_sha256_update (&state, d->data.data, d->data.size);
            offset += d->data.size;
            complete = d->complete;
            snprintf (meta, sizeof meta, "%s", d->sha256 ? d->sha256 : "");
        }
        norc_msg_destroy (&data);
    }
    if (sock) {
        zsock_set_linger (sock, 0);
        zsock_destroy (&sock);
    }
    rc = CTL_FAIL;
    if (error [0])
        fprintf (stderr, "norcctl: instance %llu: %s\n", (unsigned long long) id, error);
    else
    if (complete) {
        unsigned char digest [crypto_hash_sha256_BYTES];
        char got [65];
        crypto_hash_sha256_final (&state, digest);
        sodium_bin2hex (got, sizeof got, digest, sizeof digest);
        bool same = strcmp (got, want) == 0 && offset == want_size;
        printf ("instance %llu: %s, %llu bytes, SHA-256 %s\n", (unsigned long long) id, key,
                (unsigned long long) offset, got);
        if (same && strcmp (meta, want) == 0) {
            printf ("matches the record (%llu bytes, %s) and the object's metadata\n", (unsigned long long) want_size,
                    want);
            rc = CTL_OK;
        }
        else
        if (same && !*meta && want_size > (UINT64_C (5) << 30)) {
            //  (S3 copies at most 5 GiB: the archiver could not add the hash to a larger object)
            printf ("matches the record (%llu bytes, %s); the object carries no hash (over 5 GiB)\n",
                    (unsigned long long) want_size, want);
            rc = CTL_OK;
        }
        else
        if (same)
            printf ("MISMATCH: the bytes match the record, the object's metadata says %s\n", *meta ? meta : "nothing");
        else
            printf ("MISMATCH: the record says %llu bytes, SHA-256 %s\n", (unsigned long long) want_size, want);
    }
    norc_msg_destroy (&shown);
    return rc;
}

//  --------------------------------------------------------------------------
//  events: the public stream, one JSON object per line

int
ctl_api_events (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    const char *filter = "";
    long count = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp (argv [i], "--filter") == 0 && i + 1 < argc)
            filter = argv [++i];
        else
        if (strcmp (argv [i], "-n") == 0 && i + 1 < argc)
            count = strtol (argv [++i], NULL, 10);
        else {
            fprintf (stderr, "norcctl: events [--filter PREFIX] [-n COUNT]\n");
            return CTL_USAGE;
        }
    }
    zsock_t *sub = norc_zmq_connect (ZMQ_SUB, norc_config_str (config, "aggregator.stream"));
    if (!sub)
        return CTL_FAIL;
    zsock_set_subscribe (sub, filter);
    while (!zsys_interrupted && count != 0) {
        if (norc_zmq_wait (sub, 1000) != NORC_OK)
            continue;
        norc_msg_t *msg = norc_msg_recv (sub);
        if (!msg)
            continue;
        char *topic = msg->routing_id ? zframe_strdup (msg->routing_id) : norc_strdup ("");
        printf ("{\"topic\": ");
        ctl_print_json_string (stdout, topic);
        if (msg->id == NORC_MSG_EVENT) {
            norc_event_t *e = &msg->event;
            char when [40];
            printf (", \"time\": \"%s\"", norc_time_iso (e->time_us, when, sizeof when));
            if (e->instance_id)
                printf (", \"instance_id\": %llu", (unsigned long long) e->instance_id);
            if (e->schedule_id)
                printf (", \"schedule_id\": %llu", (unsigned long long) e->schedule_id);
            if (e->daemon_id)
                printf (", \"daemon_id\": %llu", (unsigned long long) e->daemon_id);
            if (e->task) {
                printf (", \"task\": ");
                ctl_print_json_string (stdout, e->task);
            }
            if (e->queue) {
                printf (", \"queue\": ");
                ctl_print_json_string (stdout, e->queue);
            }
            if (e->host) {
                printf (", \"host\": ");
                ctl_print_json_string (stdout, e->host);
            }
            if (e->attempt)
                printf (", \"attempt\": %d", e->attempt);
            if (e->status)
                printf (", \"status\": %d, \"status_name\": \"%s\"", e->status,
                        norc_status_name (e->status) ? norc_status_name (e->status) : "?");
            if (strcmp (topic, "instance.ended") == 0)
                printf (", \"exit_code\": %d", e->exit_code);
            if (e->nominal_us)
                printf (", \"nominal\": \"%s\"", norc_time_iso (e->nominal_us, when, sizeof when));
            if (e->count > 0) {
                printf (", \"last\": \"%s\"", norc_time_iso (e->last_us, when, sizeof when));
                printf (", \"count\": %lld", (long long) e->count);
            }
            if (e->detail) {
                printf (", \"detail\": ");
                ctl_print_json_string (stdout, e->detail);
            }
        }
        else
        if (msg->id == NORC_MSG_SCHEDULE_CHANGED)
            printf (", \"schedule_id\": %llu, \"op\": \"%s\"",
                    (unsigned long long) msg->schedule_changed.schedule_id,
                    msg->schedule_changed.op ? msg->schedule_changed.op : "");
        printf ("}\n");
        fflush (stdout);
        free (topic);
        norc_msg_destroy (&msg);
        if (count > 0)
            count--;
    }
    zsock_destroy (&sub);
    return CTL_OK;
}

//  --------------------------------------------------------------------------
//  audit: every change and every refusal of one

int
ctl_api_audit_verify (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    norc_strmap_t args = { 0 };
    const char *pos [1];
    int npos;
    int rc = ctl_api_parse (argc, argv, NULL, &args, pos, 0, &npos, NULL);
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK)
        rc = ctl_api_request (config, "audit.verify", &args, &reply);
    if (rc == CTL_OK && reply->api_reply.rows.count)
        printf ("the audit chain holds: %s rows\n", norc_strmap_get (&reply->api_reply.rows.rows [0], "rows"));
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

//  ctl_api.c - norcctl commands served by the status-aggregator (and, for
//  logs, the log-archiver). Each builds one API-REQUEST from its words and
//  flags, waits api.timeout_ms for the answer, and prints it. Nothing
//  listening is one clear line and exit 1.
#include "ctl_api.h"
#include "ctl_cmd.h"
#include "ctl_print.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *flag;           //  "--period"
    const char *key;            //  API argument
    bool has_value;             //  false: a switch, sets "1"
} s_flag_t;

//  Parse words: flags from the table into args, the rest into positional.
//  Returns CTL_OK or CTL_USAGE (printed).
static int
s_parse (int argc, char **argv, const s_flag_t *flags, norc_strmap_t *args,
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
        for (const s_flag_t *f = flags; f && f->flag && !matched; f++) {
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
            if (strcmp (f->key, "env") == 0) {
                const char *kv = argv [++i];
                const char *eq = strchr (kv, '=');
                if (!eq || eq == kv) {
                    fprintf (stderr, "norcctl: --env needs NAME=VALUE, not \"%s\"\n", kv);
                    return CTL_USAGE;
                }
                char *key = norc_asprintf ("env.%.*s", (int) (eq - kv), kv);
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
static norc_msg_t *
s_call (norc_config_t *config, const char *op, norc_strmap_t *args)
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
static int
s_request (norc_config_t *config, const char *op, norc_strmap_t *args, norc_msg_t **reply_p)
{
    //  Who asks, for the record (control requests, kills, handling)
    char by [300];
    char host [256] = "";
    gethostname (host, sizeof host);
    snprintf (by, sizeof by, "%s@%s", getenv ("USER") ? getenv ("USER") : "norcctl", host);
    norc_strmap_set (args, "by", by);
    norc_msg_t *reply = s_call (config, op, args);
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
static int
s_check_id (const char *key, const char *text)
{
    uint64_t id;
    if (strcmp (key, "id") != 0 || norc_id_parse (text, &id) == NORC_OK)
        return CTL_OK;
    fprintf (stderr, "norcctl: \"%s\" is not an id (a number from 1, # allowed)\n", text);
    return CTL_USAGE;
}

//  A command with N required positional words mapped to keys, flags, and
//  an output: columns (table) or a one-line message.
static int
s_simple (norc_config_t *config, int argc, char **argv, const char *op, const char **keys,
          int required, const s_flag_t *flags, const ctl_column_t *columns, const char *done)
{
    norc_strmap_t args = { 0 };
    const char *pos [8];
    int npos;
    bool json = false;
    int rc = s_parse (argc, argv, flags, &args, pos, 8, &npos, &json);
    if (rc == CTL_OK && npos != required) {
        fprintf (stderr, "norcctl: %s needs %d argument%s (see norcctl help)\n", op, required,
                 required == 1 ? "" : "s");
        rc = CTL_USAGE;
    }
    for (int i = 0; rc == CTL_OK && i < npos; i++) {
        rc = s_check_id (keys [i], pos [i]);
        norc_strmap_set (&args, keys [i], pos [i]);
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK)
        rc = s_request (config, op, &args, &reply);
    if (rc == CTL_OK) {
        if (json)
            ctl_print_json (stdout, &reply->api_reply.rows);
        else
        if (columns)
            ctl_print_table (stdout, &reply->api_reply.rows, columns);
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

//  --------------------------------------------------------------------------

static const char *s_name_key [] = { "name" };
static const char *s_id_key [] = { "id" };

int
ctl_api_queue_add (norc_config_t *config, int argc, char **argv)
{
    static const s_flag_t flags [] = { { "--kind", "kind", true }, { NULL, NULL, false } };
    return s_simple (config, argc, argv, "queue.add", s_name_key, 1, flags, NULL, "queue %s added (id %s)");
}

static const ctl_column_t s_queue_columns [] = {
    { "name", "Name" }, { "kind", "Type" }, { "waiting", "Waiting" }, { "executors", "Executors" }, { NULL, NULL }
};

int
ctl_api_queue_list (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "queue.list", NULL, 0, NULL, s_queue_columns, NULL);
}

int
ctl_api_queue_rm (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "queue.rm", s_name_key, 1, NULL, NULL, "queue %s removed");
}

int
ctl_api_group_add (norc_config_t *config, int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "norcctl: group add NAME QUEUE:PRIORITY...\n");
        return CTL_USAGE;
    }
    norc_strmap_t args = { 0 };
    norc_strmap_set (&args, "name", argv [0]);
    size_t len = 1;
    for (int i = 1; i < argc; i++)
        len += strlen (argv [i]) + 1;
    char *members = (char *) norc_calloc (1, len);
    for (int i = 1; i < argc; i++) {
        strcat (members, argv [i]);
        if (i + 1 < argc)
            strcat (members, ",");
    }
    norc_strmap_set (&args, "members", members);
    free (members);
    int rc = s_request (config, "group.add", &args, NULL);
    if (rc == CTL_OK)
        printf ("group %s added\n", argv [0]);
    norc_strmap_clear (&args);
    return rc;
}

//  A whole file, or standard input for "-", as a string (caller frees);
//  NULL after saying why.
static char *
s_read_file (const char *path)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "norcctl: %s: %s\n", path, strerror (errno));
        return NULL;
    }
    size_t size = 0, cap = 4096;
    char *text = (char *) norc_malloc (cap);
    size_t n;
    while ((n = fread (text + size, 1, cap - size - 1, file)) > 0) {
        size += n;
        if (size + 1 == cap) {
            if (cap > 4 * (size_t) NORC_COMMAND_MAX)
                break;          //  long enough to be refused as too long
            cap *= 2;
            text = (char *) norc_realloc (text, cap);
        }
    }
    bool failed = ferror (file);
    if (file != stdin)
        fclose (file);
    text [size] = 0;
    if (failed || memchr (text, 0, size)) {
        fprintf (stderr, "norcctl: %s: %s\n", path, failed ? "cannot read it" : "holds a NUL byte");
        free (text);
        return NULL;
    }
    return text;
}

int
ctl_api_task_add (norc_config_t *config, int argc, char **argv)
{
    //  --command-file FILE (or - for standard input): the command is the
    //  file's text, for commands too long or too awkward to quote
    for (int i = 0; i < argc; i++)
        if (strcmp (argv [i], "--command-file") == 0) {
            if (i + 1 >= argc) {
                fprintf (stderr, "norcctl: --command-file needs a file (or - for standard input)\n");
                return CTL_USAGE;
            }
            for (int j = 0; j < argc; j++)
                if (strcmp (argv [j], "--command") == 0) {
                    fprintf (stderr, "norcctl: give --command or --command-file, not both\n");
                    return CTL_USAGE;
                }
            char *command = s_read_file (argv [i + 1]);
            if (!command)
                return CTL_FAIL;
            char **words = (char **) norc_calloc ((size_t) argc + 1, sizeof (char *));
            memcpy (words, argv, (size_t) argc * sizeof (char *));
            words [i] = (char *) "--command";
            words [i + 1] = command;
            int rc = ctl_api_task_add (config, argc, words);
            free (words);
            free (command);
            return rc;
        }
    static const s_flag_t flags [] = {
        { "--command", "command", true }, { "--timeout", "timeout", true }, { "--env", "env", true },
        { "--cwd", "cwd", true }, { "--retries", "retries", true }, { "--description", "description", true },
        { "--retry-backoff", "retry_backoff", true }, { "--retry-cap", "retry_cap", true },
        { "--log-max", "log_max", true }, { NULL, NULL, false }
    };
    return s_simple (config, argc, argv, "task.add", s_name_key, 1, flags, NULL, "task %s added (id %s)");
}

//  A job file: {"timeout": S, "description": D, "nodes": [{"name": N,
//  "task": T, "after": [N...]}...], "edges": [[PARENT, CHILD]...]}, the
//  same arguments as the flags. CTL_OK, or CTL_USAGE after saying why.
static int
s_job_file (const char *path, norc_strmap_t *args, int *edges)
{
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        fprintf (stderr, "norcctl: %s:%d:%d: %s\n", path, error.line, error.column, error.text);
        return CTL_USAGE;
    }
    int rc = CTL_OK;
    const char *problem = NULL;
    json_t *nodes = json_object_get (root, "nodes");
    json_t *value;
    if (!json_is_object (root) || !json_is_array (nodes))
        problem = "expected an object with a \"nodes\" array";
    if (!problem && (value = json_object_get (root, "timeout"))) {
        if (json_is_integer (value) && json_integer_value (value) >= 0) {
            char text [32];
            snprintf (text, sizeof text, "%lld", (long long) json_integer_value (value));
            norc_strmap_set (args, "timeout", text);
        }
        else
            problem = "\"timeout\" must be a number of seconds";
    }
    if (!problem && (value = json_object_get (root, "description"))) {
        if (json_is_string (value))
            norc_strmap_set (args, "description", json_string_value (value));
        else
            problem = "\"description\" must be a string";
    }
    size_t i;
    json_t *node;
    json_array_foreach (problem ? NULL : nodes, i, node) {
        const char *name = json_string_value (json_object_get (node, "name"));
        const char *task = json_string_value (json_object_get (node, "task"));
        json_t *after = json_object_get (node, "after");
        if (!name || !task || (after && !json_is_array (after))) {
            problem = "each node needs \"name\" and \"task\" strings (and \"after\", if any, is an array)";
            break;
        }
        char *key = norc_asprintf ("node.%s", name);
        if (norc_strmap_get (args, key))
            problem = "a node name is used twice";
        norc_strmap_set (args, key, task);
        free (key);
        size_t k;
        json_t *parent;
        json_array_foreach (after, k, parent) {
            if (!json_is_string (parent)) {
                problem = "\"after\" lists node names";
                break;
            }
            char *edge_key = norc_asprintf ("edge.%d", (*edges)++);
            char *edge = norc_asprintf ("%s:%s", json_string_value (parent), name);
            norc_strmap_set (args, edge_key, edge);
            free (edge);
            free (edge_key);
        }
    }
    json_t *pair;
    json_array_foreach (problem ? NULL : json_object_get (root, "edges"), i, pair) {
        const char *p = json_string_value (json_array_get (pair, 0));
        const char *c = json_string_value (json_array_get (pair, 1));
        if (!p || !c || json_array_size (pair) != 2) {
            problem = "each edge is [PARENT, CHILD]";
            break;
        }
        char *edge_key = norc_asprintf ("edge.%d", (*edges)++);
        char *edge = norc_asprintf ("%s:%s", p, c);
        norc_strmap_set (args, edge_key, edge);
        free (edge);
        free (edge_key);
    }
    if (problem) {
        fprintf (stderr, "norcctl: %s: %s\n", path, problem);
        rc = CTL_USAGE;
    }
    json_decref (root);
    return rc;
}

//  job add NAME (--node NAME=TASK... [--edge PARENT:CHILD...] | --file F)
//  [--timeout S] [--description D]
int
ctl_api_job_add (norc_config_t *config, int argc, char **argv)
{
    norc_strmap_t args = { 0 };
    const char *name = NULL;
    int edges = 0, rc = CTL_OK;
    for (int i = 0; i < argc && rc == CTL_OK; i++) {
        const char *flag = argv [i];
        bool valued = strcmp (flag, "--node") == 0 || strcmp (flag, "--edge") == 0 || strcmp (flag, "--file") == 0
                   || strcmp (flag, "--timeout") == 0 || strcmp (flag, "--description") == 0;
        if (valued && i + 1 >= argc) {
            fprintf (stderr, "norcctl: %s needs a value\n", flag);
            rc = CTL_USAGE;
        }
        else
        if (strcmp (flag, "--node") == 0) {
            const char *kv = argv [++i];
            const char *eq = strchr (kv, '=');
            if (!eq || eq == kv || !eq [1]) {
                fprintf (stderr, "norcctl: --node needs NAME=TASK, not \"%s\"\n", kv);
                rc = CTL_USAGE;
                break;
            }
            char *key = norc_asprintf ("node.%.*s", (int) (eq - kv), kv);
            if (norc_strmap_get (&args, key)) {
                fprintf (stderr, "norcctl: node \"%.*s\" is given twice\n", (int) (eq - kv), kv);
                rc = CTL_USAGE;
            }
            norc_strmap_set (&args, key, eq + 1);
            free (key);
        }
        else
        if (strcmp (flag, "--edge") == 0) {
            char *key = norc_asprintf ("edge.%d", edges++);
            norc_strmap_set (&args, key, argv [++i]);
            free (key);
        }
        else
        if (strcmp (flag, "--file") == 0)
            rc = s_job_file (argv [++i], &args, &edges);
        else
        if (valued)
            norc_strmap_set (&args, flag + 2, argv [++i]);
        else
        if (flag [0] == '-') {
            fprintf (stderr, "norcctl: unknown option %s (see norcctl help)\n", flag);
            rc = CTL_USAGE;
        }
        else
        if (name) {
            fprintf (stderr, "norcctl: unexpected argument \"%s\" (see norcctl help)\n", flag);
            rc = CTL_USAGE;
        }
        else
            name = flag;
    }
    if (rc == CTL_OK && !name) {
        fprintf (stderr, "norcctl: job add needs a NAME (see norcctl help)\n");
        rc = CTL_USAGE;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, "name", name);
        rc = s_request (config, "job.add", &args, &reply);
    }
    if (rc == CTL_OK) {
        const char *id = reply->api_reply.rows.count ? norc_strmap_get (&reply->api_reply.rows.rows [0], "id") : NULL;
        printf ("job %s added (id %s)\n", name, id ? id : "?");
    }
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

static const ctl_column_t s_job_columns [] = {
    { "node", "Node" }, { "task", "Task" }, { "after", "After" }, { NULL, NULL }
};

int
ctl_api_job_show (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "job.show", s_name_key, 1, NULL, s_job_columns, NULL);
}

static const ctl_column_t s_task_columns [] = {
    { "name", "Name" }, { "kind", "Type" }, { "command", "Command" }, { "added", "Added" },
    { "timeout_s", "Timeout" }, { "instances", "Instances" }, { NULL, NULL }
};

int
ctl_api_task_list (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "task.list", NULL, 0, NULL, s_task_columns, NULL);
}

static int
s_print_record (norc_config_t *config, int argc, char **argv, const char *op, const char **keys)
{
    norc_strmap_t args = { 0 };
    const char *pos [2];
    int npos;
    bool json = false;
    int rc = s_parse (argc, argv, NULL, &args, pos, 1, &npos, &json);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: %s needs one argument\n", op);
        rc = CTL_USAGE;
    }
    if (rc == CTL_OK)
        rc = s_check_id (keys [0], pos [0]);
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, keys [0], pos [0]);
        rc = s_request (config, op, &args, &reply);
    }
    if (rc == CTL_OK && json)
        ctl_print_json (stdout, &reply->api_reply.rows);
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

int
ctl_api_task_show (norc_config_t *config, int argc, char **argv)
{
    return s_print_record (config, argc, argv, "task.show", s_name_key);
}

int
ctl_api_task_rm (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "task.rm", s_name_key, 1, NULL, NULL, "task %s removed");
}

int
ctl_api_schedule_add (norc_config_t *config, int argc, char **argv)
{
    static const char *keys [] = { "task" };
    static const s_flag_t flags [] = {
        { "--queue", "queue", true }, { "--period", "period", true }, { "--reps", "reps", true },
        { "--start", "start", true }, { "--make-up", "make_up", false }, { "--cron", "cron", true },
        { "--tz", "tz", true }, { "--catchup", "catchup", true }, { "--window", "window", true },
        { "--concurrency", "concurrency", true }, { "--deadline", "deadline", true },
        { NULL, NULL, false }
    };
    norc_strmap_t args = { 0 };
    const char *pos [2];
    int npos;
    bool json = false;
    int rc = s_parse (argc, argv, flags, &args, pos, 1, &npos, &json);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: schedule add TASK --queue Q (--period S | --cron EXPR) ...\n");
        rc = CTL_USAGE;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, keys [0], pos [0]);
        rc = s_request (config, "schedule.add", &args, &reply);
    }
    if (rc == CTL_OK && json)
        ctl_print_json (stdout, &reply->api_reply.rows);
    else
    if (rc == CTL_OK && reply->api_reply.rows.count) {
        norc_strmap_t *row = &reply->api_reply.rows.rows [0];
        printf ("schedule %s added for %s; first tick %s\n", norc_strmap_get (row, "id"), pos [0],
                norc_strmap_get (row, "next"));
    }
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

static const ctl_column_t s_schedule_columns [] = {
    { "id", "ID" }, { "task", "Task" }, { "queue", "Queue" }, { "timing", "Timing" }, { "tz", "Zone" },
    { "repetitions", "Reps" }, { "remaining", "Left" }, { "catchup", "Catch-up" }, { "paused", "Paused" },
    { "next", "Next" }, { "scheduler", "Scheduler" }, { NULL, NULL }
};

int
ctl_api_schedule_list (norc_config_t *config, int argc, char **argv)
{
    static const s_flag_t flags [] = { { "--all", "all", false }, { NULL, NULL, false } };
    return s_simple (config, argc, argv, "schedule.list", NULL, 0, flags, s_schedule_columns, NULL);
}

int
ctl_api_schedule_show (norc_config_t *config, int argc, char **argv)
{
    return s_print_record (config, argc, argv, "schedule.show", s_id_key);
}

int
ctl_api_schedule_rm (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "schedule.rm", s_id_key, 1, NULL, NULL, "schedule %s deleted");
}

int
ctl_api_schedule_pause (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "schedule.pause", s_id_key, 1, NULL, NULL, "schedule %s paused");
}

int
ctl_api_schedule_resume (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "schedule.resume", s_id_key, 1, NULL, NULL, "schedule %s resumed");
}

static const ctl_column_t s_history_columns [] = {
    { "nominal", "Tick" }, { "last", "Through" }, { "ticks", "Ticks" }, { "outcome", "Outcome" }, { "instance_id", "Instance" }, { "status", "Status" },
    { "lateness_ms", "Late (ms)" }, { "reason", "Why" }, { NULL, NULL }
};

int
ctl_api_schedule_history (norc_config_t *config, int argc, char **argv)
{
    static const s_flag_t flags [] = { { "-n", "limit", true }, { NULL, NULL, false } };
    return s_simple (config, argc, argv, "schedule.history", s_id_key, 1, flags, s_history_columns, NULL);
}

int
ctl_api_run (norc_config_t *config, int argc, char **argv)
{
    static const char *keys [] = { "task" };
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp (argv [i], "--at") == 0) {
            //  A time already past is refused: as a schedule it would be
            //  a run of missed ticks, not the run the user asked for
            norc_us_t at;
            if (norc_time_parse (argv [i + 1], &at) != NORC_OK) {
                fprintf (stderr, "norcctl: --at \"%s\" is not an ISO-8601 time (e.g. 2026-12-24T18:00:00Z)\n",
                         argv [i + 1]);
                return CTL_USAGE;
            }
            if (at < norc_now_us () - 5 * NORC_US_PER_SEC) {
                char when [40];
                fprintf (stderr, "norcctl: --at %s is in the past (it is %s now): leave out --at to run it now\n",
                         argv [i + 1], norc_time_iso (norc_now_us (), when, sizeof when));
                return CTL_USAGE;
            }
            //  Later: a schedule of one repetition starting then, so the run
            //  is durable, fenced and in the tick ledger like any other
            char **rest = (char **) norc_calloc ((size_t) argc + 4, sizeof (char *));
            int n = 0;
            for (int j = 0; j < argc; j++)
                if (j == i)
                    rest [n++] = (char *) "--start";
                else
                    rest [n++] = argv [j];
            rest [n++] = (char *) "--period";
            rest [n++] = (char *) "1";
            rest [n++] = (char *) "--reps";
            rest [n++] = (char *) "1";
            static const s_flag_t flags [] = {
                { "--queue", "queue", true }, { "--start", "start", true }, { "--period", "period", true },
                { "--reps", "reps", true }, { NULL, NULL, false }
            };
            int rc = s_simple (config, n, rest, "schedule.add", keys, 1, flags, NULL,
                               "%s will run once at the given time (schedule %s)");
            free (rest);
            return rc;
        }
    static const s_flag_t flags [] = { { "--queue", "queue", true }, { NULL, NULL, false } };
    return s_simple (config, argc, argv, "run", keys, 1, flags, NULL, "instance %2$s of %1$s created");
}

int
ctl_api_instance_show (norc_config_t *config, int argc, char **argv)
{
    return s_print_record (config, argc, argv, "instance.show", s_id_key);
}

int
ctl_api_instance_kill (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "instance.kill", s_id_key, 1, NULL, NULL, "instance %s: kill requested");
}

int
ctl_api_instance_handle (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "instance.handle", s_id_key, 1, NULL, NULL, "instance %s handled");
}

int
ctl_api_instance_rerun (norc_config_t *config, int argc, char **argv)
{
    return s_simple (config, argc, argv, "instance.rerun", s_id_key, 1, NULL, NULL,
                     "instance %2$s created to rerun %1$s");
}

//  --------------------------------------------------------------------------
//  status: the original reporter's sections

static const ctl_column_t s_executor_columns [] = {
    { "id", "ID" }, { "queue", "Queue" }, { "host", "Host" }, { "pid", "PID" }, { "running", "Running" },
    { "succeeded", "Succeeded" }, { "failed", "Failed" }, { "started", "Started" }, { "ended", "Ended" },
    { "status", "Status" }, { NULL, NULL }
};
static const ctl_column_t s_scheduler_columns [] = {
    { "id", "ID" }, { "host", "Host" }, { "pid", "PID" }, { "claimed", "Claimed" }, { "started", "Started" },
    { "ended", "Ended" }, { "status", "Status" }, { NULL, NULL }
};
static const ctl_column_t s_instance_columns [] = {
    { "id", "ID" }, { "task", "Task" }, { "queue", "Queue" }, { "schedule_id", "Schedule" },
    { "job", "Job" }, { "attempt", "Try" }, { "executor_id", "Executor" }, { "started", "Started" }, { "ended", "Ended" },
    { "exit_code", "Exit" }, { "status", "Status" }, { NULL, NULL }
};

int
ctl_api_status (norc_config_t *config, int argc, char **argv)
{
    static const s_flag_t flags [] = {
        { "--since", "since", true }, { "--failed", "failed", false }, { NULL, NULL, false }
    };
    norc_strmap_t args = { 0 };
    const char *pos [4];
    int npos;
    bool json = false;
    int rc = s_parse (argc, argv, flags, &args, pos, 4, &npos, &json);
    if (rc != CTL_OK) {
        norc_strmap_clear (&args);
        return rc;
    }
    static const struct { const char *name, *op, *title; const ctl_column_t *columns; } sections [] = {
        { "executors", "status.executors", "Executors", s_executor_columns },
        { "schedulers", "status.schedulers", "Schedulers", s_scheduler_columns },
        { "queues", "status.queues", "Queues", s_queue_columns },
        { "instances", "status.instances", "Instances", s_instance_columns },
    };
    for (int i = 0; i < npos; i++) {
        bool known = false;
        for (size_t s = 0; s < 4; s++)
            known |= strcmp (pos [i], sections [s].name) == 0;
        if (!known) {
            fprintf (stderr, "norcctl: unknown status section \"%s\" (executors, schedulers, queues, instances)\n",
                     pos [i]);
            norc_strmap_clear (&args);
            return CTL_USAGE;
        }
    }
    if (!json) {
        time_t now = time (NULL);
        struct tm tm;
        localtime_r (&now, &tm);
        //  The window, named: live daemons are always listed; ended ones
        //  and instances within it (instances: all when not given)
        const char *since = norc_strmap_get (&args, "since");
        bool all = since && strcmp (since, "all") == 0;
        char daemons [64], instances [64];
        snprintf (daemons, sizeof daemons, all ? "all ended ones" : "those ended in the last %s",
                  since ? since : "10m");
        snprintf (instances, sizeof instances, since && !all ? "of the last %s" : "all", since);
        printf ("[%04d/%02d/%02d %02d:%02d:%02d] Norc status: live daemons and %s; instances: %s%s\n",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, daemons,
                instances, norc_strmap_get (&args, "failed") ? ", failed only" : "");
    }
    else
        printf ("{");
    bool first = true;
    for (size_t s = 0; s < 4 && rc == CTL_OK; s++) {
        bool wanted = npos == 0;
        for (int i = 0; i < npos; i++)
            wanted |= strcmp (pos [i], sections [s].name) == 0;
        if (!wanted)
            continue;
        norc_msg_t *reply = NULL;
        rc = s_request (config, sections [s].op, &args, &reply);
        if (rc != CTL_OK)
            break;
        if (json) {
            printf ("%s\"%s\": ", first ? "" : ",\n ", sections [s].name);
            ctl_print_json (stdout, &reply->api_reply.rows);
        }
        else {
            printf ("\n## %s ##\n", sections [s].title);
            ctl_print_table (stdout, &reply->api_reply.rows, sections [s].columns);
        }
        first = false;
        norc_msg_destroy (&reply);
    }
    if (json)
        printf ("}\n");
    norc_strmap_clear (&args);
    return rc;
}

//  --------------------------------------------------------------------------
//  logs: from the log-archiver

int
ctl_api_logs (norc_config_t *config, int argc, char **argv)
{
    bool follow = false;
    const char *id_text = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp (argv [i], "-f") == 0 || strcmp (argv [i], "--follow") == 0)
            follow = true;
        else
        if (!id_text)
            id_text = argv [i];
        else {
            fprintf (stderr, "norcctl: logs [-f] INSTANCE-ID\n");
            return CTL_USAGE;
        }
    }
    uint64_t id;
    if (norc_id_parse (id_text, &id) != NORC_OK) {
        if (id_text)
            fprintf (stderr, "norcctl: \"%s\" is not an instance id (a number from 1, # allowed)\n", id_text);
        else
            fprintf (stderr, "norcctl: logs [-f] INSTANCE-ID (a number, # allowed)\n");
        return CTL_USAGE;
    }
    const char *endpoint = norc_config_str (config, "archiver.fetch");
    int timeout = (int) norc_config_int (config, "api.timeout_ms");
    zsock_t *sock = norc_zmq_connect (ZMQ_DEALER, endpoint);
    if (!sock)
        return CTL_FAIL;
    uint64_t offset = 0;
    int rc = CTL_OK;
    while (!zsys_interrupted) {
        norc_msg_t *fetch = norc_msg_new (NORC_MSG_LOG_FETCH);
        fetch->log_fetch.instance_id = id;
        fetch->log_fetch.offset = offset;
        fetch->log_fetch.max_bytes = 1024 * 1024;
        fetch->log_fetch.follow = follow;
        norc_msg_send (&fetch, sock);
        int waited = norc_zmq_wait (sock, timeout + 1000);
        if (waited != NORC_OK && zsys_interrupted)
            break;              //  Ctrl-C while following: not a fault of the archiver
        if (waited != NORC_OK) {
            fprintf (stderr, "norcctl: nothing answered at %s within %d ms: is the log-archiver running?\n",
                     endpoint, timeout);
            rc = CTL_FAIL;
            break;
        }
        norc_msg_t *data = norc_msg_recv (sock);
        if (!data || data->id != NORC_MSG_LOG_DATA) {
            norc_msg_destroy (&data);
            continue;
        }
        norc_log_data_t *d = &data->log_data;
        if (d->error && *d->error && !follow) {
            fprintf (stderr, "norcctl: %s\n", d->error);
            rc = CTL_FAIL;
            norc_msg_destroy (&data);
            break;
        }
        if (d->offset == offset && d->data.size) {
            fwrite (d->data.data, 1, d->data.size, stdout);
            fflush (stdout);
            offset += d->data.size;
        }
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
//  events: the public stream, one JSON object per line

int
ctl_api_events (norc_config_t *config, int argc, char **argv)
{
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
//  control: requests to daemons, optionally waiting for their effect

//  The status a request leads to (0: none to wait for).
static int
s_expected_status (int request)
{
    switch (request) {
        case NORC_REQ_STOP:   return NORC_ST_ENDED;
        case NORC_REQ_KILL:   return NORC_ST_KILLED;
        case NORC_REQ_PAUSE:  return NORC_ST_PAUSED;
        case NORC_REQ_RESUME: return NORC_ST_RUNNING;
        default:              return 0;
    }
}

int
ctl_api_control (norc_config_t *config, int argc, char **argv)
{
    if (argc < 1) {
        fprintf (stderr, "norcctl: control stop|kill|pause|resume|reload|handle "
                         "(executor ID | scheduler ID | --host HOST) [--wait [--timeout S]]\n");
        return CTL_USAGE;
    }
    int request = norc_request_code (argv [0]);
    if (request < 0) {
        fprintf (stderr, "norcctl: unknown request \"%s\" (stop, kill, pause, resume, reload, handle)\n", argv [0]);
        return CTL_USAGE;
    }
    norc_strmap_t args = { 0 };
    norc_strmap_set (&args, "request", argv [0]);
    bool wait = false;
    long timeout_s = 30;
    const char *kind = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp (argv [i], "executor") == 0 || strcmp (argv [i], "scheduler") == 0
          || strcmp (argv [i], "e") == 0 || strcmp (argv [i], "s") == 0) && i + 1 < argc) {
            kind = argv [i];
            norc_strmap_set (&args, "daemon", argv [++i]);
        }
        else
        if (strcmp (argv [i], "--host") == 0 && i + 1 < argc)
            norc_strmap_set (&args, "host", argv [++i]);
        else
        if (strcmp (argv [i], "--wait") == 0)
            wait = true;
        else
        if (strcmp (argv [i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = strtol (argv [++i], NULL, 10);
        else {
            fprintf (stderr, "norcctl: unexpected \"%s\" (see norcctl help)\n", argv [i]);
            norc_strmap_clear (&args);
            return CTL_USAGE;
        }
    }
    NORC_UNUSED (kind);
    norc_msg_t *reply = NULL;
    int rc = s_request (config, "control", &args, &reply);
    norc_strmap_clear (&args);
    if (rc != CTL_OK)
        return rc;
    norc_rows_t targets = reply->api_reply.rows;
    memset (&reply->api_reply.rows, 0, sizeof (reply->api_reply.rows));
    norc_msg_destroy (&reply);
    for (size_t i = 0; i < targets.count; i++) {
        norc_strmap_t *row = &targets.rows [i];
        const char *outcome = norc_strmap_get (row, "outcome");
        if (outcome && strcmp (outcome, "handled") == 0)
            printf ("%s %s marked HANDLED\n", norc_strmap_get (row, "kind"), norc_strmap_get (row, "daemon_id"));
        else
            printf ("%s %s on %s was sent a %s request (%s)\n", norc_strmap_get (row, "kind"),
                    norc_strmap_get (row, "daemon_id"), norc_strmap_get (row, "host"),
                    norc_strmap_get (row, "request"), outcome ? outcome : "sent");
    }
    int expected = s_expected_status (request);
    if (wait && expected) {
        norc_us_t deadline = norc_mono_us () + (norc_us_t) timeout_s * NORC_US_PER_SEC;
        for (size_t i = 0; i < targets.count && rc == CTL_OK; i++) {
            const char *id = norc_strmap_get (&targets.rows [i], "daemon_id");
            int status = 0;
            while (true) {
                norc_strmap_t q = { 0 };
                norc_strmap_set (&q, "id", id);
                norc_msg_t *r = s_call (config, "daemon.show", &q);
                norc_strmap_clear (&q);
                if (r && r->api_reply.code == NORC_OK && r->api_reply.rows.count)
                    status = atoi (norc_strmap_get (&r->api_reply.rows.rows [0], "status"));
                norc_msg_destroy (&r);
                if (status == expected || NORC_STATUS_IS_FINAL (status)
                ||  norc_mono_us () > deadline || zsys_interrupted)
                    break;
                usleep (100000);
            }
            if (status == expected)
                printf ("%s %s is %s\n", norc_strmap_get (&targets.rows [i], "kind"), id, norc_status_name (status));
            else {
                fprintf (stderr, "norcctl: %s %s is %s, not %s, after %ld s\n",
                         norc_strmap_get (&targets.rows [i], "kind"), id,
                         norc_status_name (status) ? norc_status_name (status) : "unknown",
                         norc_status_name (expected), timeout_s);
                rc = CTL_FAIL;
            }
        }
    }
    norc_rows_clear (&targets);
    return rc;
}

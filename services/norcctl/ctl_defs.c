//  ctl_defs.c - norcctl commands that define work: queue, group, task,
//  job (from a file), schedule.
#include "ctl_api_internal.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

int
ctl_api_group_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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
    int rc = ctl_api_request (config, "group.add", &args, NULL);
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
ctl_api_task_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
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
            int rc = ctl_api_task_add (config, cmd, argc, words);
            free (words);
            free (command);
            return rc;
        }
    return ctl_api_simple (config, argc, argv, cmd->op, cmd->pos, cmd->npos, cmd->flags, NULL, "task %s added (id %s)");
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
ctl_api_job_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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
        rc = ctl_api_request (config, "job.add", &args, &reply);
    }
    if (rc == CTL_OK) {
        const char *id = reply->api_reply.rows.count ? norc_strmap_get (&reply->api_reply.rows.rows [0], "id") : NULL;
        printf ("job %s added (id %s)\n", name, id ? id : "?");
    }
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

int
ctl_api_schedule_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    norc_strmap_t args = { 0 };
    const char *pos [2];
    int npos;
    bool json = false;
    int rc = ctl_api_parse (argc, argv, cmd->flags, &args, pos, 1, &npos, &json);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: schedule add TASK --queue Q (--period S | --cron EXPR) ...\n");
        rc = CTL_USAGE;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, cmd->pos [0], pos [0]);
        rc = ctl_api_request (config, cmd->op, &args, &reply);
    }
    if (rc == CTL_OK && json)
        ctl_print_json (stdout, "schedule.add", &reply->api_reply.rows);
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


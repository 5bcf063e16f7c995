//  ctl_runs.c - norcctl commands about runs and daemons: run, instance,
//  status (the original reporter's sections), control (with a wait for
//  its effect).
#include "ctl_api_internal.h"
#include "norc_api.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include <errno.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

int
ctl_api_run (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
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
            static const ctl_flag_t flags [] = {
                { "--queue", "queue", true }, { "--start", "start", true }, { "--period", "period", true },
                { "--reps", "reps", true }, { NULL, NULL, false }
            };
            int rc = ctl_api_simple (config, n, rest, "schedule.add", keys, 1, flags, NULL,
                               "%s will run once at the given time (schedule %s)");
            free (rest);
            return rc;
        }
    return ctl_api_simple (config, argc, argv, cmd->op, cmd->pos, cmd->npos, cmd->flags, NULL,
                           "instance %2$s of %1$s created");
}

//  --------------------------------------------------------------------------
//  status: the original reporter's sections

int
ctl_api_status (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    static const ctl_flag_t flags [] = {
        { "--since", "since", true }, { "--failed", "failed", false }, { NULL, NULL, false }
    };
    norc_strmap_t args = { 0 };
    const char *pos [4];
    int npos;
    bool json = false;
    int rc = ctl_api_parse (argc, argv, flags, &args, pos, 4, &npos, &json);
    if (rc != CTL_OK) {
        norc_strmap_clear (&args);
        return rc;
    }
    static const struct { const char *name, *op, *title; } sections [] = {
        { "executors", "status.executors", "Executors" }, { "schedulers", "status.schedulers", "Schedulers" },
        { "bridges", "status.bridges", "Bridges" },       { "archivers", "status.archivers", "Log-archivers" },
        { "queues", "status.queues", "Queues" },          { "instances", "status.instances", "Instances" },
    };
    const size_t count = sizeof sections / sizeof sections [0];
    for (int i = 0; i < npos; i++) {
        bool known = false;
        for (size_t s = 0; s < count; s++)
            known |= strcmp (pos [i], sections [s].name) == 0;
        if (!known) {
            fprintf (stderr, "norcctl: unknown status section \"%s\" (executors, schedulers, bridges, archivers, "
                     "queues, instances)\n", pos [i]);
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
    for (size_t s = 0; s < count && rc == CTL_OK; s++) {
        bool wanted = npos == 0;
        for (int i = 0; i < npos; i++)
            wanted |= strcmp (pos [i], sections [s].name) == 0;
        if (!wanted)
            continue;
        //  Each section gets the options its operation takes (docs/api.md)
        norc_strmap_t taken = { 0 };
        const norc_api_op_t *op = norc_api_op (sections [s].op);
        for (size_t k = 0; op && k < args.count; k++)
            if (norc_api_takes (op, args.keys [k]))
                norc_strmap_set (&taken, args.keys [k], args.values [k]);
        norc_msg_t *reply = NULL;
        rc = ctl_api_request (config, sections [s].op, &taken, &reply);
        norc_strmap_clear (&taken);
        if (rc != CTL_OK)
            break;
        //  Bridges and archivers are listed when asked for, or when there are some
        if (npos == 0 && (strcmp (sections [s].name, "bridges") == 0 || strcmp (sections [s].name, "archivers") == 0)
        &&  reply->api_reply.rows.count == 0) {
            norc_msg_destroy (&reply);
            continue;
        }
        if (json) {
            printf ("%s\"%s\": ", first ? "" : ",\n ", sections [s].name);
            ctl_print_json (stdout, sections [s].op, &reply->api_reply.rows);
        }
        else {
            printf ("\n## %s ##\n", sections [s].title);
            ctl_print_table (stdout, sections [s].op, &reply->api_reply.rows, ctl_api_table (sections [s].op));
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
//  control: requests to daemons, optionally waiting for their effect

int
ctl_api_control (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    if (argc < 1) {
        fprintf (stderr, "norcctl: control stop|kill|pause|resume|reload|handle "
                         "(executor|scheduler|bridge|archiver ID | --host HOST) [--wait [--timeout S]]\n");
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
        //  The kind names the id for the reader; the id alone says which daemon
        if ((strcmp (argv [i], "executor") == 0 || strcmp (argv [i], "scheduler") == 0
          || strcmp (argv [i], "bridge") == 0 || strcmp (argv [i], "archiver") == 0
          || strcmp (argv [i], "daemon") == 0
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
    if (wait && (request == NORC_REQ_STOP || request == NORC_REQ_KILL || request == NORC_REQ_PAUSE
              || request == NORC_REQ_RESUME)) {
        //  The aggregator answers when the targets get there: give it the time
        if (timeout_s < 1 || timeout_s > 300) {
            fprintf (stderr, "norcctl: --timeout takes 1 to 300 seconds\n");
            norc_strmap_clear (&args);
            return CTL_USAGE;
        }
        char text [32];
        snprintf (text, sizeof text, "%ld", timeout_s);
        norc_strmap_set (&args, "wait", text);
        snprintf (text, sizeof text, "%lld", (long long) (norc_config_int (config, "api.timeout_ms") + timeout_s * 1000));
        norc_config_set (config, "api.timeout_ms", text);
    }
    else
        wait = false;
    norc_msg_t *reply = NULL;
    int rc = ctl_api_request (config, "control", &args, &reply);
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
    for (size_t i = 0; wait && i < targets.count; i++) {
        norc_strmap_t *row = &targets.rows [i];
        const char *status = norc_status_name (atoi (norc_strmap_get (row, "status") ? norc_strmap_get (row, "status") : "0"));
        const char *reached = norc_strmap_get (row, "reached");
        if (reached && strcmp (reached, "1") == 0)
            printf ("%s %s is %s\n", norc_strmap_get (row, "kind"), norc_strmap_get (row, "daemon_id"), status);
        else {
            fprintf (stderr, "norcctl: %s %s is %s, not where %s leads, after %ld s\n", norc_strmap_get (row, "kind"),
                     norc_strmap_get (row, "daemon_id"), status ? status : "unknown", norc_strmap_get (row, "request"),
                     timeout_s);
            rc = CTL_FAIL;
        }
    }
    norc_rows_clear (&targets);
    return rc;
}

//  ctl_cmd.c - norcctl commands. Each handler takes the words after its
//  command name, does one thing, prints the result (human text by default,
//  JSON lines with --json) and returns an exit code: 0 ok, 1 failure, 2
//  usage. Errors are one line on stderr.
#include "ctl_cmd.h"
#include "ctl_api.h"
#include "norc_cron.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef int (s_handler_fn) (norc_config_t *config, int argc, char **argv);

typedef struct {
    const char *words;      //  command words, e.g. "cron next"
    const char *args;       //  argument synopsis
    const char *help;       //  one line
    s_handler_fn *handler;
} s_command_t;

static int
s_fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_fail (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "norcctl: ");
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    return CTL_FAIL;
}

static int
s_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "norcctl: ");
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, " (see norcctl help)\n");
    va_end (ap);
    return CTL_USAGE;
}

//  --------------------------------------------------------------------------
//  db

static int
s_db_open (norc_config_t *config, norc_db_t **db)
{
    *db = norc_db_new_from_config (config);
    if (!*db)
        return s_fail ("malformed db.url \"%s\"", norc_config_str (config, "db.url"));
    return CTL_OK;
}

static int
s_db_migrate (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (argv);
    if (argc > 0)
        return s_usage_error ("db migrate takes no arguments");
    norc_db_t *db;
    if (s_db_open (config, &db))
        return CTL_FAIL;
    int rc = norc_db_create_database (db);
    if (rc) {
        s_fail ("cannot reach the database: %s", norc_db_errstr (db));
        norc_db_destroy (&db);
        return CTL_FAIL;
    }
    char err [512] = "";
    int from = 0, to = 0;
    rc = norc_migrate_run (db, &from, &to, err, sizeof err);
    norc_db_destroy (&db);
    if (rc)
        return s_fail ("%s", err);
    if (from == to)
        printf ("schema is up to date at version %d\n", to);
    else
        printf ("schema migrated from version %d to %d\n", from, to);
    return CTL_OK;
}

static int
s_db_version (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (argv);
    if (argc > 0)
        return s_usage_error ("db version takes no arguments");
    norc_db_t *db;
    if (s_db_open (config, &db))
        return CTL_FAIL;
    int version = 0;
    int rc = norc_migrate_current (db, &version);
    if (rc) {
        s_fail ("cannot read the schema version: %s", norc_db_errstr (db));
        norc_db_destroy (&db);
        return CTL_FAIL;
    }
    norc_db_destroy (&db);
    printf ("database %d, this norcctl %d\n", version, norc_migrate_latest ());
    return CTL_OK;
}

//  --------------------------------------------------------------------------
//  cron

static int
s_cron_next (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (config);
    const char *expr = NULL, *tz = NULL, *from = NULL;
    long count = 5;
    for (int i = 0; i < argc; i++) {
        if (strcmp (argv [i], "--tz") == 0 && i + 1 < argc)
            tz = argv [++i];
        else
        if (strcmp (argv [i], "--from") == 0 && i + 1 < argc)
            from = argv [++i];
        else
        if ((strcmp (argv [i], "-n") == 0 || strcmp (argv [i], "--count") == 0) && i + 1 < argc) {
            char *end;
            count = strtol (argv [++i], &end, 10);
            if (*end || count < 1 || count > 100000)
                return s_usage_error ("-n needs a number from 1 to 100000");
        }
        else
        if (argv [i][0] == '-' && argv [i][1] && !expr)
            return s_usage_error ("unknown option %s", argv [i]);
        else
        if (!expr)
            expr = argv [i];
        else
            return s_usage_error ("unexpected argument \"%s\" (quote the expression)", argv [i]);
    }
    if (!expr)
        return s_usage_error ("cron next needs an expression");
    if (tz && !*tz)
        return s_usage_error ("an empty --tz: give a zone such as Europe/London, or leave it out for UTC");
    norc_us_t t = norc_now_us ();
    if (from && norc_time_parse (from, &t))
        return s_usage_error ("--from: \"%s\" is not an ISO-8601 time", from);
    char err [512] = "";
    //  The same translation as when a schedule is saved; the random values
    //  of a shorthand are drawn here and shown
    char *stored = norc_cron_normalize (expr, tz, (uint32_t) (norc_now_us () ^ getpid ()), err, sizeof err);
    if (!stored)
        return s_fail ("bad cron expression \"%s\": %s", expr, err);
    norc_cron_t *cron = norc_cron_new (stored, tz, err, sizeof err);
    if (!cron) {
        free (stored);
        return s_fail ("bad cron expression \"%s\": %s", expr, err);
    }
    if (strcmp (stored, expr) != 0)
        fprintf (stderr, "norcctl: \"%s\" is stored as \"%s\"\n", expr, stored);
    int rc = CTL_OK;
    for (long i = 0; i < count; i++) {
        norc_us_t next;
        if (norc_cron_next (cron, t, &next) != NORC_OK) {
            rc = s_fail ("no further fire time within 50 years");
            break;
        }
        char buf [64];
        printf ("%s\n", norc_tz_format (tz, next, buf, sizeof buf));
        t = next;
    }
    norc_cron_destroy (&cron);
    free (stored);
    return rc;
}

//  --------------------------------------------------------------------------
//  config, version, help

static int
s_config_keys (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (config);
    NORC_UNUSED (argv);
    if (argc > 0)
        return s_usage_error ("config keys takes no arguments");
    norc_config_print_markdown (stdout);
    return CTL_OK;
}

static int
s_version (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (config);
    NORC_UNUSED (argc);
    NORC_UNUSED (argv);
    printf ("norcctl %s (schema %d)\n", NORC_VERSION, norc_migrate_latest ());
    return CTL_OK;
}

//  A container's health check: the service on this host touches
//  health.file from its loop every heartbeat period.
static int
s_health (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (argv);
    if (argc > 0)
        return s_usage_error ("health takes no arguments");
    const char *file = norc_config_str (config, "health.file");
    if (!*file)
        return s_fail ("health.file is not set (the services touch it when it is)");
    struct stat st;
    if (stat (file, &st) != 0)
        return s_fail ("%s: %s (the service has not started its loop)", file, strerror (errno));
    int64_t limit_ms = 3 * norc_config_int (config, "heartbeat.period_ms");
    if (limit_ms < 3000)
        limit_ms = 3000;
    int64_t age_ms = (int64_t) (time (NULL) - st.st_mtime) * 1000;
    if (age_ms > limit_ms)
        return s_fail ("%s: last touched %lld s ago: the service's loop is stuck", file, (long long) (age_ms / 1000));
    printf ("alive\n");
    return CTL_OK;
}

static int s_help (norc_config_t *config, int argc, char **argv);

static const s_command_t s_commands [] = {
    { "queue add", "NAME [--kind db|sqs]", "add a queue", ctl_api_queue_add },
    { "queue list", "[--json]", "list queues with waiting instances and executors", ctl_api_queue_list },
    { "queue rm", "NAME", "remove an unused queue", ctl_api_queue_rm },
    { "group add", "NAME QUEUE:PRIORITY...", "add a queue group (lower priority first)", ctl_api_group_add },
    { "task add", "NAME --command CMD [--timeout S] [--env K=V]... [--cwd DIR] [--retries N [--retry-backoff S] "
      "[--retry-cap S]]",
      "add a command task", ctl_api_task_add },
    { "task list", "[--json]", "list tasks", ctl_api_task_list },
    { "task show", "NAME", "show a task", ctl_api_task_show },
    { "task rm", "NAME", "remove a task without live schedules", ctl_api_task_rm },
    { "job add", "NAME (--node NAME=TASK... [--edge PARENT:CHILD]... | --file JOB.json) [--timeout S] "
      "[--description D]", "add a job: command tasks as nodes, run in dependency order", ctl_api_job_add },
    { "job show", "NAME", "show a job's nodes and what each waits for", ctl_api_job_show },
    { "schedule add", "TASK --queue Q (--period S [--reps N] [--start T] [--make-up] | --cron EXPR [--tz Z])",
      "schedule a task", ctl_api_schedule_add },
    { "schedule list", "[--all] [--json]", "list schedules", ctl_api_schedule_list },
    { "schedule show", "ID", "show a schedule", ctl_api_schedule_show },
    { "schedule rm", "ID", "delete a schedule", ctl_api_schedule_rm },
    { "schedule pause", "ID", "pause a schedule (its ticks are recorded as skipped)", ctl_api_schedule_pause },
    { "schedule resume", "ID", "resume a schedule", ctl_api_schedule_resume },
    { "schedule history", "ID [-n N]", "each tick and what happened to it", ctl_api_schedule_history },
    { "run", "TASK --queue Q [--at TIME]", "run a task now, or once at TIME (ISO-8601)", ctl_api_run },
    { "status", "[executors|schedulers|queues|instances] [--since 10m|30m|1h|3h|12h|1d|7d|all] [--failed] [--json]",
      "report on daemons, queues and instances", ctl_api_status },
    { "instance show", "ID", "show an instance", ctl_api_instance_show },
    { "instance kill", "ID", "stop an instance: before it starts, or on its executor (it ends KILLED)",
      ctl_api_instance_kill },
    { "instance handle", "ID", "mark a failed instance HANDLED, with who and when", ctl_api_instance_handle },
    { "instance rerun", "ID", "run an instance's task again on its queue, now", ctl_api_instance_rerun },
    { "logs", "[-f] ID", "print an instance's log (follow it with -f)", ctl_api_logs },
    { "events", "[--filter PREFIX] [-n COUNT]", "print the event stream, one JSON object per line",
      ctl_api_events },
    { "control", "stop|kill|pause|resume|reload|handle (executor ID | scheduler ID | --host HOST) "
      "[--wait [--timeout S]]", "control daemons", ctl_api_control },
    { "db migrate", "", "create or upgrade the database schema", s_db_migrate },
    { "db version", "", "show the schema version", s_db_version },
    { "cron next", "EXPR [--tz ZONE] [--from ISO-TIME] [-n N]",
      "print the next N fire times of a cron expression", s_cron_next },
    { "config keys", "", "list every configuration key (Markdown)", s_config_keys },
    { "health", "", "exit 0 when this host's service touched health.file lately (container health check)",
      s_health },
    { "version", "", "print the version", s_version },
    { "help", "", "this text", s_help },
};

#define N_COMMANDS (sizeof s_commands / sizeof s_commands [0])

void
ctl_cmd_usage (FILE *out)
{
    fprintf (out, "usage: norcctl [--config FILE] [--KEY VALUE ...] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char left [80];
        snprintf (left, sizeof left, "%s %s", s_commands [i].words, s_commands [i].args);
        fprintf (out, "  %-58s %s\n", left, s_commands [i].help);
    }
    fprintf (out, "\nConfiguration keys (norcctl config keys) are read from NORC_* environment\n"
                  "variables, the file in NORC_CONFIG or --config, and --KEY VALUE flags.\n");
}

static int
s_help (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (config);
    NORC_UNUSED (argc);
    NORC_UNUSED (argv);
    ctl_cmd_usage (stdout);
    return CTL_OK;
}

//  Number of words of `words` that argv starts with, or 0.
static int
s_match (const char *words, int argc, char **argv)
{
    char copy [64];
    snprintf (copy, sizeof copy, "%s", words);
    int n = 0;
    for (char *w = strtok (copy, " "); w; w = strtok (NULL, " ")) {
        if (n >= argc || strcmp (argv [n], w) != 0)
            return 0;
        n++;
    }
    return n;
}

int
ctl_cmd_run (norc_config_t *config, int argc, char **argv)
{
    if (argc < 1) {
        ctl_cmd_usage (stderr);
        return CTL_USAGE;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int n = s_match (s_commands [i].words, argc, argv);
        if (n)
            return s_commands [i].handler (config, argc - n, argv + n);
    }
    return s_usage_error ("unknown command \"%s%s%s\"", argv [0], argc > 1 ? " " : "",
                          argc > 1 ? argv [1] : "");
}

//  ctl_cmd.c - norcctl commands. Each handler takes the words after its
//  command name, does one thing, prints the result (human text by default,
//  JSON lines with --json) and returns an exit code: 0 ok, 1 failure, 2
//  usage. Errors are one line on stderr.
#include "ctl_cmd.h"
#include "norc_keys.h"
#include "norc_principal.h"
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
    const char *options;    //  "FLAG\tmeaning" lines
    const char *example;    //  one command line
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
        //  Access denied: most often a password changed after the
        //  database was first created (MariaDB takes it only then)
        if (norc_db_errno (db) == 1045 || norc_db_errno (db) == 1044)
            s_fail ("the database refused the user or password: %s. The password in db.url (NORC_DB_URL) "
                    "or db.password_file (in the compose stack the volume db-secret) must be the one the "
                    "database user has: MariaDB sets it at its first start only (docs/containers.md, \"The "
                    "database's passwords\")", norc_db_errstr (db));
        else
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
//  keys

//  keys gen NAME [--dir DIR] / keys show NAME [--dir DIR]: the key
//  directory is security.keys_dir unless --dir says otherwise
static int
s_keys_args (norc_config_t *config, int argc, char **argv, const char **name, const char **dir, const char **roles)
{
    *name = NULL;
    *dir = norc_config_str (config, "security.keys_dir");
    for (int i = 0; i < argc; i++)
        if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc)
            *dir = argv [++i];
        else
        if (strcmp (argv [i], "--role") == 0 && i + 1 < argc && roles)
            *roles = argv [++i];
        else
        if (argv [i][0] != '-' && !*name)
            *name = argv [i];
        else
            return s_usage_error ("keys: NAME [--dir DIR]");
    return *name ? CTL_OK : s_usage_error ("keys: a NAME is required");
}

static int
s_keys_gen (norc_config_t *config, int argc, char **argv)
{
    const char *name, *dir, *roles = NULL;
    int rc = s_keys_args (config, argc, argv, &name, &dir, &roles);
    if (rc)
        return rc;
    char err [512], public_txt [41];
    uint32_t bits;
    if (roles && norc_roles_parse (roles, &bits, err, sizeof err) != NORC_OK)
        return s_usage_error ("%s", err);
    if (!norc_keys_curve_ready (err, sizeof err)) {
        s_fail ("%s", err);
        return CTL_FAIL;
    }
    if (norc_keys_generate (dir, name, roles, public_txt, err, sizeof err) != NORC_OK) {
        s_fail ("%s", err);
        return CTL_FAIL;
    }
    printf ("key pair %s: public %s/%s.key, secret %s/%s.key_secret (mode 0600)\npublic key %s\n",
            name, dir, name, dir, name, public_txt);
    return CTL_OK;
}

static int
s_keys_show (norc_config_t *config, int argc, char **argv)
{
    const char *name, *dir;
    int rc = s_keys_args (config, argc, argv, &name, &dir, NULL);
    if (rc)
        return rc;
    char err [512];
    zcert_t *cert = norc_keys_load (dir, name, false, err, sizeof err);
    if (!cert) {
        s_fail ("%s", err);
        return CTL_FAIL;
    }
    char fp [41];
    norc_key_fingerprint (zcert_public_txt (cert), fp);
    printf ("%s\nfingerprint %s\n", zcert_public_txt (cert), fp);
    zcert_destroy (&cert);
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

//  One entry per command: its words, its synopsis, one line of summary,
//  then every option ("FLAG\tmeaning" lines) and an example. The usage
//  text, `norcctl help CMD`, `norcctl CMD --help` and the man page
//  norcctl(1) are all printed from this table.
static const s_command_t s_commands [] = {
    { "queue add", "NAME [--kind db|sqs]", "add a queue",
      "NAME\tletters, digits, '.', '_' or '-' (at most 64)\n"
      "--kind db|sqs\twhere its waiting instances live (default db: MariaDB)",
      "norcctl queue add Nightly", ctl_api_queue_add },
    { "queue list", "[--json]", "list queues with waiting instances and executors",
      "--json\tone JSON array instead of a table", "norcctl queue list", ctl_api_queue_list },
    { "queue rm", "NAME", "remove an unused queue", "NAME\tthe queue (refused while schedules or executors use it)",
      "norcctl queue rm Nightly", ctl_api_queue_rm },
    { "group add", "NAME QUEUE:PRIORITY...", "add a queue group (lower priority first)",
      "NAME\tthe group's name (queues and groups share one name space)\n"
      "QUEUE:PRIORITY\ta member queue and its priority; an executor serving the group takes work from "
      "the lowest number first",
      "norcctl group add Everything Urgent:1 Nightly:5", ctl_api_group_add },
    { "task add", "NAME (--command CMD | --command-file FILE) [--timeout S] [--env K=V]... [--secret-env K=V]... "
      "[--cwd DIR] "
      "[--retries N [--retry-backoff S] [--retry-cap S]] [--log-max SIZE] [--description D]", "add a command task",
      "NAME\tletters, digits, '.', '_' or '-'\n"
      "--command CMD\tthe shell command (run with /bin/sh -c; at most 65535 bytes)\n"
      "--command-file FILE\tthe command is the text of FILE, or of standard input for -\n"
      "--timeout S\tkill it after S seconds (0: never; default 0)\n"
      "--env K=V\tset an environment variable for it (repeatable)\n"
      "--secret-env K=V\tthe same, for a value never shown again: task show, the API and the audit say "
      "(secret) (repeatable)\n"
      "--cwd DIR\trun it in DIR on the executor's host\n"
      "--retries N\trun a failed attempt again, up to N more times (0-100)\n"
      "--retry-backoff S\tthe first retry waits S seconds, doubling after (default 10)\n"
      "--retry-cap S\tno retry waits more than S seconds (default 3600)\n"
      "--log-max SIZE\tcap its log at SIZE (e.g. 200M): past it the log keeps its head and its last "
      "bytes and says what was cut (default: the executor's executor.log_max_bytes)\n"
      "--description D\tfree text, shown by task show",
      "norcctl task add Backup --command 'tar czf /tmp/etc.tgz /etc' --timeout 600 --env TZ=UTC",
      ctl_api_task_add },
    { "task list", "[--json]", "list tasks", "--json\tone JSON array instead of a table", "norcctl task list",
      ctl_api_task_list },
    { "task show", "NAME [--json]", "show a task", "NAME\tthe task (or #ID)\n--json\tJSON instead of text",
      "norcctl task show Backup", ctl_api_task_show },
    { "task rm", "NAME", "remove a task without live schedules", "NAME\tthe task; its past instances are kept",
      "norcctl task rm Backup", ctl_api_task_rm },
    { "job add", "NAME (--node NAME=TASK... [--edge PARENT:CHILD]... | --file JOB.json) [--timeout S] "
      "[--description D]", "add a job: command tasks as nodes, run in dependency order",
      "--node NAME=TASK\ta node of the job running TASK (repeatable)\n"
      "--edge PARENT:CHILD\tCHILD starts after PARENT succeeded (repeatable)\n"
      "--file JOB.json\tthe nodes and edges from a file (see docs/jobs.md)\n"
      "--timeout S\tstop what is left of a run after S seconds\n"
      "--description D\tfree text",
      "norcctl job add BackupJob --node backup=Backup --node notify=Notify --edge backup:notify",
      ctl_api_job_add },
    { "job show", "NAME [--json]", "show a job's nodes and what each waits for",
      "NAME\tthe job\n--json\tJSON instead of a table", "norcctl job show BackupJob", ctl_api_job_show },
    { "schedule add", "TASK --queue Q (--period S [--reps N] [--start T] | --cron EXPR [--tz Z]) "
      "[--catchup none|all|latest|within [--window S]] [--make-up] [--concurrency allow|forbid|replace] "
      "[--deadline S]", "schedule a task",
      "TASK\tthe task or job to run\n"
      "--queue Q\tthe queue its instances go to\n"
      "--period S\tevery S seconds, from --start\n"
      "--reps N\tthis many fires, then the schedule ends (default: forever)\n"
      "--start T\tthe first tick: ISO-8601, now, or +/-SECONDS from now (default now)\n"
      "--cron EXPR\tcron with optional seconds, @daily, @every 90s, or the original's encoding "
      "(norcctl cron next previews it)\n"
      "--tz Z\tthe cron's time zone, e.g. Europe/London (default UTC)\n"
      "--catchup P\tticks missed while Norc was down: none (default), all, latest, or within --window\n"
      "--window S\tfor --catchup within: replay ticks at most S seconds late\n"
      "--make-up\tthe same as --catchup all (the original's flag)\n"
      "--concurrency P\twhen the previous run is still going: allow (default), forbid (skip), "
      "replace (stop it)\n"
      "--deadline S\ta tick that cannot start within S seconds is missed",
      "norcctl schedule add Backup --queue Nightly --cron '30 2 * * *' --tz Europe/London", ctl_api_schedule_add },
    { "schedule list", "[--all] [--json]", "list schedules",
      "--all\talso the ended and deleted ones\n--json\tone JSON array instead of a table",
      "norcctl schedule list", ctl_api_schedule_list },
    { "schedule show", "ID [--json]", "show a schedule", "ID\tthe schedule's id\n--json\tJSON instead of text",
      "norcctl schedule show 3", ctl_api_schedule_show },
    { "schedule rm", "ID", "delete a schedule", "ID\tthe schedule's id; its instances are kept",
      "norcctl schedule rm 3", ctl_api_schedule_rm },
    { "schedule pause", "ID", "pause a schedule (its ticks are recorded as skipped)", "ID\tthe schedule's id",
      "norcctl schedule pause 3", ctl_api_schedule_pause },
    { "schedule resume", "ID", "resume a schedule", "ID\tthe schedule's id", "norcctl schedule resume 3",
      ctl_api_schedule_resume },
    { "schedule history", "ID [-n N] [--json]", "each tick and what happened to it",
      "ID\tthe schedule's id\n"
      "-n N\tthe newest N rows (default 50); a run of ticks skipped or missed for one reason is one row\n"
      "--json\tone JSON array instead of a table",
      "norcctl schedule history 3 -n 20", ctl_api_schedule_history },
    { "run", "TASK --queue Q [--at TIME]", "run a task now, or once at TIME (ISO-8601)",
      "TASK\tthe task or job\n"
      "--queue Q\tthe queue it goes to (a warning when no live executor serves it)\n"
      "--at TIME\tonce, later (a time in the past is refused)",
      "norcctl run Backup --queue Nightly --at 2030-12-24T18:00:00Z", ctl_api_run },
    { "status", "[executors|schedulers|queues|instances] [--since 10m|30m|1h|3h|12h|1d|7d|all] [--failed] "
      "[--json]", "report on daemons, queues and instances",
      "SECTION\tonly these sections (default all four)\n"
      "--since W\tinstances, and daemons that ended, within the last W (default 10m); live daemons "
      "are always listed\n"
      "--failed\tonly failed instances\n"
      "--json\tone JSON object with an array per section",
      "norcctl status instances --since 1h --failed", ctl_api_status },
    { "instance show", "ID [--json]", "show an instance", "ID\tthe instance's id (# allowed)\n--json\tJSON",
      "norcctl instance show 12", ctl_api_instance_show },
    { "instance kill", "ID", "stop an instance: before it starts, or on its executor (it ends KILLED)",
      "ID\tthe instance's id", "norcctl instance kill 12", ctl_api_instance_kill },
    { "instance handle", "ID", "mark a failed instance HANDLED, with who and when", "ID\tthe instance's id",
      "norcctl instance handle 13", ctl_api_instance_handle },
    { "instance rerun", "ID", "run an instance's task again on its queue, now", "ID\tthe instance's id",
      "norcctl instance rerun 12", ctl_api_instance_rerun },
    { "logs", "[-f] [--offset N] [--limit N] [--tail N] ID", "print an instance's log, or a byte range of it "
      "(follow it with -f)",
      "ID\tthe instance's id (# allowed)\n-f, --follow\tkeep printing until the instance ends\n"
      "--offset N\tfrom byte N (from 0)\n--limit N\tat most N bytes\n--tail N\tfrom the last N bytes there are",
      "norcctl logs --tail 4096 -f 12", ctl_api_logs },
    { "events", "[--filter PREFIX] [-n COUNT]", "print the event stream, one JSON object per line",
      "--filter PREFIX\tonly topics that start with PREFIX, e.g. instance. (topics: docs/events.md)\n"
      "-n COUNT\tstop after COUNT events",
      "norcctl events --filter instance.", ctl_api_events },
    { "control", "stop|kill|pause|resume|reload|handle (executor ID | scheduler ID | --host HOST) "
      "[--wait [--timeout S]]", "control daemons",
      "REQUEST\tstop (drain, then end), kill (end now, killing what runs), pause, resume, reload, "
      "handle (mark a failed daemon HANDLED)\n"
      "executor ID, scheduler ID\tone daemon (norcctl status lists them)\n"
      "--host HOST\tevery live daemon on HOST\n"
      "--wait\twait until each target reaches the requested state\n"
      "--timeout S\tfor --wait: give up after S seconds (default 30)",
      "norcctl control stop --host worker-7 --wait --timeout 60", ctl_api_control },
    { "audit list", "[-n COUNT] [--json]", "print the audit, newest first: every change and every refusal of one",
      "-n COUNT\thow many rows (default 50)\n--json\tJSON, with each change's state before and after",
      "norcctl audit list -n 20", ctl_api_audit_list },
    { "audit verify", "", "check the audit's hash chain: exit 1, naming the row, when a row was edited, "
      "removed or put in", "", "norcctl audit verify", ctl_api_audit_verify },
    { "keys gen", "NAME [--dir DIR] [--role ROLES]",
      "make a CURVE key pair: NAME.key (public) and NAME.key_secret (mode 0600)",
      "NAME\ta plain file name, e.g. the service or user it is for\n"
      "--dir DIR\twhere (default security.keys_dir); an existing pair is never replaced\n"
      "--role ROLES\tthe roles written in the public file, for a service that seeds its registry from its "
      "keys directory (docs/security.md)",
      "norcctl keys gen alice --dir /var/lib/norc/keys --role admin", s_keys_gen },
    { "keys show", "NAME [--dir DIR]", "print a key pair's public key (Z85) and fingerprint",
      "NAME\tthe pair\n--dir DIR\twhere (default security.keys_dir)", "norcctl keys show executor-7", s_keys_show },
    { "keys list", "[--json]", "the registry of principals: every key but the pending ones", "--json\tJSON",
      "norcctl keys list", ctl_api_keys_list },
    { "keys pending", "[--json]", "keys that knocked and wait to be accepted, with their fingerprints",
      "--json\tJSON", "norcctl keys pending", ctl_api_keys_pending },
    { "keys add", "NAME (--key Z85 | --file PATH) --role ROLES [--kind user|service] [--expires S]",
      "admit a public key as principal NAME",
      "NAME\tthe principal\n--key Z85\tthe public key\n--file PATH\ta public key file (NAME.key)\n"
      "--role ROLES\tcomma list: viewer, logs:read, operator, admin, scheduler, executor, archiver, aggregator\n"
      "--kind K\tuser or service (default: service when a service role is given)\n"
      "--expires S\tthe key expires in S seconds (default never)",
      "norcctl keys add alice --file alice.key --role operator,logs:read", ctl_api_keys_add },
    { "keys accept", "FINGERPRINT --name NAME --role ROLES [--kind user|service]",
      "admit a pending key as principal NAME", "FINGERPRINT\tits first 8 hex digits or more (keys pending)\n"
      "--name NAME\tthe principal\n--role ROLES\tits roles\n--kind K\tuser or service",
      "norcctl keys accept 3f9c2a17 --name exec-7 --role executor", ctl_api_keys_accept },
    { "keys reject", "FINGERPRINT", "refuse a pending key for good", "FINGERPRINT\tits first 8 hex digits or more",
      "norcctl keys reject 3f9c2a17", ctl_api_keys_reject },
    { "keys revoke", "NAME|FINGERPRINT", "revoke a principal's keys, or one key: refused within a second, "
      "open connections too", "NAME\tevery key of the principal\nFINGERPRINT\tone key (8 hex digits or more)",
      "norcctl keys revoke exec-7", ctl_api_keys_revoke },
    { "keys rotate", "[PAIR] [--principal NAME] [--overlap S] [--dir DIR]",
      "a new key pair for PAIR (default this norcctl's), registered for the principal, in the old one's place",
      "PAIR\tthe key files to replace (default security.key, or norcctl)\n"
      "--principal NAME\twhose key it is (default the caller; an admin may name anyone)\n"
      "--overlap S\tthe old key stays valid S more seconds (default 3600)\n--dir DIR\twhere (default "
      "security.keys_dir)", "norcctl keys rotate --overlap 600", ctl_api_keys_rotate },
    { "keys token", "NAME --role ROLES [--expires S]",
      "a single-use enrolment token: an executor that presents it (security.enrol_token) is admitted as NAME",
      "NAME\tthe principal the enrolled key becomes\n--role ROLES\tits roles (executor)\n"
      "--expires S\tthe token expires in S seconds (default and most: a day)",
      "norcctl keys token exec-8 --role executor --expires 3600", ctl_api_keys_token },
    { "token add", "NAME --role ROLES [--expires S] [--json]",
      "an API token for HTTP (norc-web: Authorization: Bearer); prints its secret, shown this once",
      "NAME\tthe token's name\n--role ROLES\tviewer, logs:read, operator or admin\n"
      "--expires S\tit expires in S seconds (default 90 days; 0: never)",
      "norcctl token add grafana --role viewer", ctl_api_token_add },
    { "token list", "[--json]", "the API tokens (never their secrets)", "--json\tJSON", "norcctl token list",
      ctl_api_token_list },
    { "token revoke", "NAME|#ID", "revoke an API token: refused from its next request", "NAME\tthe token",
      "norcctl token revoke grafana", ctl_api_token_revoke },
    { "user add", "NAME --role ROLES", "a local user of the page (norc-web); its password (12 characters at least) "
      "is read from the standard input", "NAME\tthe user\n--role ROLES\tviewer, logs:read, operator or admin",
      "norcctl user add ada --role operator < password.txt", ctl_api_user_add },
    { "user list", "[--json]", "the local users (never their passwords)", "--json\tJSON", "norcctl user list",
      ctl_api_user_list },
    { "user rm", "NAME", "remove a local user and end its sessions", "NAME\tthe user", "norcctl user rm ada",
      ctl_api_user_rm },
    { "db migrate", "", "create or upgrade the database schema", "",
      "norcctl --db.url mysql://norc:secret@db:3306/norc db migrate", s_db_migrate },
    { "db version", "", "show the schema version", "", "norcctl db version", s_db_version },
    { "cron next", "EXPR [--tz ZONE] [--from ISO-TIME] [-n N]",
      "print the next N fire times of a cron expression",
      "EXPR\tthe expression, quoted (see docs/schedules.md)\n"
      "--tz ZONE\tits time zone (default UTC)\n"
      "--from TIME\tstart from TIME instead of now\n"
      "-n N\thow many (default 5)",
      "norcctl cron next '30 2 * * *' --tz Europe/London -n 3", s_cron_next },
    { "config keys", "", "list every configuration key (Markdown)", "", "norcctl config keys", s_config_keys },
    { "health", "", "exit 0 when this host's service touched health.file lately (container health check)", "",
      "norcctl --health.file /run/norc/health health", s_health },
    { "version", "", "print the version", "", "norcctl version", s_version },
    { "help", "[COMMAND]", "this text, or one command's options and an example",
      "COMMAND\tthe command's words, e.g. schedule add\n--man\tthe manual page norcctl(1), in roff",
      "norcctl help schedule add", s_help },
};

#define N_COMMANDS (sizeof s_commands / sizeof s_commands [0])

void
ctl_cmd_usage (FILE *out)
{
    fprintf (out, "usage: norcctl [--config FILE] [--KEY VALUE ...] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf (out, "  %-18s %s\n", s_commands [i].words, s_commands [i].help);
    fprintf (out, "\n`norcctl help COMMAND` (or `norcctl COMMAND --help`) prints a command's options and an\n"
                  "example. Configuration keys (norcctl config keys) are read from NORC_* environment\n"
                  "variables, the file in NORC_CONFIG or --config, and --KEY VALUE flags.\n");
}

//  The options of a command, one "FLAG\tmeaning" line at a time
typedef struct {
    const char *next;           //  the rest of the options text
    const char *flag, *text;
    size_t flag_len, text_len;
} s_option_t;

static bool
s_option_next (s_option_t *o)
{
    if (!*o->next)
        return false;
    const char *line = o->next;
    const char *end = strchr (line, '\n');
    size_t len = end ? (size_t) (end - line) : strlen (line);
    const char *tab = memchr (line, '\t', len);
    o->flag = line;
    o->flag_len = tab ? (size_t) (tab - line) : len;
    o->text = tab ? tab + 1 : line + len;
    o->text_len = tab ? len - o->flag_len - 1 : 0;
    o->next = line + len + (end ? 1 : 0);
    return true;
}

//  One command's synopsis, options and example.
static void
s_command_help (FILE *out, const s_command_t *c)
{
    fprintf (out, "usage: norcctl %s%s%s\n\n%s.\n", c->words, *c->args ? " " : "", c->args, c->help);
    if (*c->options)
        fprintf (out, "\n");
    s_option_t o = { .next = c->options };
    while (s_option_next (&o))
        fprintf (out, "  %-22.*s %.*s\n", (int) o.flag_len, o.flag, (int) o.text_len, o.text);
    fprintf (out, "\nexample:\n  %s\n", c->example);
}

//  roff text with its special characters escaped
static void
s_roff (FILE *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text [i] == '\\')
            fputs ("\\e", out);
        else
        if (text [i] == '-')
            fputs ("\\-", out);
        else
        if ((text [i] == '.' || text [i] == '\'') && (i == 0))
            fprintf (out, "\\&%c", text [i]);
        else
            fputc (text [i], out);
    }
}

//  The manual page norcctl(1), from the same table
static void
s_man (FILE *out)
{
    fprintf (out, ".TH NORCCTL 1 \"\" \"Norc %s\" \"Norc manual\"\n.SH NAME\nnorcctl \\- the Norc command line\n"
                  ".SH SYNOPSIS\n.B norcctl\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-KEY\\fR \\fIVALUE\\fR ...] "
                  "\\fICOMMAND\\fR [\\fIARGS\\fR]\n.SH DESCRIPTION\nnorcctl defines queues, tasks, jobs and "
                  "schedules, runs tasks, reports on daemons and instances, prints logs and the event stream, "
                  "and controls daemons, through the status-aggregator (and the log-archiver for logs).\n"
                  "Configuration keys (\\fBnorcctl config keys\\fR) come from NORC_* environment variables, "
                  "the file in NORC_CONFIG or \\fB\\-\\-config\\fR, and \\fB\\-\\-KEY VALUE\\fR flags.\n"
                  ".PP\nExit status: 0 done, 1 failed, 2 usage error.\n.SH COMMANDS\n", NORC_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const s_command_t *c = &s_commands [i];
        fprintf (out, ".SS \"%s", c->words);
        if (*c->args) {
            fputc (' ', out);
            s_roff (out, c->args, strlen (c->args));
        }
        fprintf (out, "\"\n");
        s_roff (out, c->help, strlen (c->help));
        fprintf (out, ".\n");
        s_option_t o = { .next = c->options };
        while (s_option_next (&o)) {
            fprintf (out, ".TP\n.B ");
            s_roff (out, o.flag, o.flag_len);
            fprintf (out, "\n");
            s_roff (out, o.text, o.text_len);
            fprintf (out, "\n");
        }
        fprintf (out, ".PP\nExample:\n.nf\n.RS\n");
        s_roff (out, c->example, strlen (c->example));
        fprintf (out, "\n.RE\n.fi\n");
    }
    fprintf (out, ".SH FILES\nSee docs/configuration.md for every key and docs/events.md for the event "
                  "stream.\n.SH SEE ALSO\nnorc\\-scheduler, norc\\-executor, norc\\-archiver, norc\\-aggregator\n");
}

//  The command whose words argv starts with (the longest match), with the
//  number of words in *n; NULL when none.
static const s_command_t *s_find (int argc, char **argv, int *n);

static int
s_help (norc_config_t *config, int argc, char **argv)
{
    NORC_UNUSED (config);
    if (argc == 1 && strcmp (argv [0], "--man") == 0) {
        s_man (stdout);
        return CTL_OK;
    }
    if (argc == 0) {
        ctl_cmd_usage (stdout);
        return CTL_OK;
    }
    int n;
    const s_command_t *c = s_find (argc, argv, &n);
    if (!c || n != argc)
        return s_usage_error ("no command \"%s%s%s\"", argv [0], argc > 1 ? " " : "", argc > 1 ? argv [1] : "");
    s_command_help (stdout, c);
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

static const s_command_t *
s_find (int argc, char **argv, int *n)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if ((*n = s_match (s_commands [i].words, argc, argv)))
            return &s_commands [i];
    return NULL;
}

bool
ctl_cmd_talks (int argc, char **argv)
{
    static s_handler_fn *local [] = {
        s_keys_gen, s_keys_show, s_db_migrate, s_db_version, s_cron_next, s_config_keys, s_health, s_version, s_help
    };
    int n;
    const s_command_t *c = argc > 0 ? s_find (argc, argv, &n) : NULL;
    for (size_t i = 0; c && i < sizeof local / sizeof local [0]; i++)
        if (c->handler == local [i])
            return false;
    return c != NULL;
}

int
ctl_cmd_run (norc_config_t *config, int argc, char **argv)
{
    if (argc < 1) {
        ctl_cmd_usage (stderr);
        return CTL_USAGE;
    }
    if (strcmp (argv [0], "--help") == 0 || strcmp (argv [0], "-h") == 0)
        return s_help (config, argc - 1, argv + 1);
    int n;
    const s_command_t *c = s_find (argc, argv, &n);
    if (!c) {
        //  A group's first word alone: list its commands
        bool group = false;
        for (size_t i = 0; i < N_COMMANDS; i++) {
            size_t len = strlen (argv [0]);
            if (strncmp (s_commands [i].words, argv [0], len) == 0 && s_commands [i].words [len] == ' ') {
                if (!group)
                    fprintf (stderr, "norcctl: %s what?\n", argv [0]);
                fprintf (stderr, "  norcctl %s %s\n", s_commands [i].words, s_commands [i].args);
                group = true;
            }
        }
        if (group)
            return CTL_USAGE;
        return s_usage_error ("unknown command \"%s%s%s\"", argv [0], argc > 1 ? " " : "",
                              argc > 1 ? argv [1] : "");
    }
    for (int i = n; i < argc; i++)
        if (strcmp (argv [i], "--help") == 0 || (strcmp (argv [i], "-h") == 0 && c->handler != s_help)) {
            s_command_help (stdout, c);
            return CTL_OK;
        }
    int rc = c->handler (config, argc - n, argv + n);
    if (rc == CTL_USAGE && c->handler != s_help)
        fprintf (stderr, "usage: norcctl %s%s%s\n(norcctl help %s: every option, with an example)\n",
                 c->words, *c->args ? " " : "", c->args, c->words);
    return rc;
}

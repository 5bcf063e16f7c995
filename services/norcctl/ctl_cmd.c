//  ctl_cmd.c - norcctl commands. Each handler takes the words after its
//  command name, does one thing, prints the result (human text by default,
//  JSON lines with --json) and returns an exit code: 0 ok, 1 failure, 2
//  usage. Errors are one line on stderr.
#include "ctl_cmd.h"
#include "norc_keys.h"
#include "norc_principal.h"
#include "ctl_commands.h"
#include "norc_cron.h"
#include "norc_db.h"
#include "norc_log.h"
#include "norc_mem.h"
#include "norc_migrate.h"
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int
ctl_local_db_migrate (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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

int
ctl_local_db_version (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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

int
ctl_local_keys_gen (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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

int
ctl_local_keys_show (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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

int
ctl_local_cron_next (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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

int
ctl_local_config_keys (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    NORC_UNUSED (config);
    NORC_UNUSED (argv);
    if (argc > 0)
        return s_usage_error ("config keys takes no arguments");
    norc_config_print_markdown (stdout);
    return CTL_OK;
}

int
ctl_local_version (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
    NORC_UNUSED (config);
    NORC_UNUSED (argc);
    NORC_UNUSED (argv);
    printf ("norcctl %s (schema %d)\n", NORC_VERSION, norc_migrate_latest ());
    return CTL_OK;
}

//  A container's health check: the service on this host touches
//  health.file from its loop every heartbeat period.
int
ctl_local_health (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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


//  The commands: the usage text, `norcctl help CMD`, `norcctl CMD --help`
//  and the man page norcctl(1) are all printed from this table, generated
//  from proto/norc_api.xml
#include "ctl_commands.inc"

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
s_command_help (FILE *out, const ctl_command_t *c)
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
        const ctl_command_t *c = &s_commands [i];
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
static const ctl_command_t *s_find (int argc, char **argv, int *n);

int
ctl_local_help (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    NORC_UNUSED (cmd);
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
    const ctl_command_t *c = s_find (argc, argv, &n);
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

static const ctl_command_t *
s_find (int argc, char **argv, int *n)
{
    const ctl_command_t *best = NULL;
    *n = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int words = s_match (s_commands [i].words, argc, argv);
        if (words > *n) {
            *n = words;
            best = &s_commands [i];
        }
    }
    return best;
}

bool
ctl_cmd_talks (int argc, char **argv)
{
    int n;
    const ctl_command_t *c = argc > 0 ? s_find (argc, argv, &n) : NULL;
    return c && !c->local;
}

int
ctl_cmd_run (norc_config_t *config, int argc, char **argv)
{
    if (argc < 1) {
        ctl_cmd_usage (stderr);
        return CTL_USAGE;
    }
    if (strcmp (argv [0], "--help") == 0 || strcmp (argv [0], "-h") == 0)
        return ctl_local_help (config, NULL, argc - 1, argv + 1);
    int n;
    const ctl_command_t *c = s_find (argc, argv, &n);
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
        if (strcmp (argv [i], "--help") == 0 || (strcmp (argv [i], "-h") == 0 && c->handler != ctl_local_help)) {
            s_command_help (stdout, c);
            return CTL_OK;
        }
    int rc = c->handler ? c->handler (config, c, argc - n, argv + n) : ctl_api_command (config, c, argc - n, argv + n);
    if (rc == CTL_USAGE && c->handler != ctl_local_help)
        fprintf (stderr, "usage: norcctl %s%s%s\n(norcctl help %s: every option, with an example)\n",
                 c->words, *c->args ? " " : "", c->args, c->words);
    return rc;
}

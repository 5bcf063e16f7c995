//  norc_config.c - the configuration table and its loaders. Every value is
//  kept as text and checked against its type when set, so a bad value is
//  reported where it was given, with its key, before a service starts.
#include "norc_config.h"
#include "norc_zmq.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <ctype.h>
#include <errno.h>
#include <strings.h>

typedef enum { T_STR, T_INT, T_BOOL, T_LEVEL, T_URL, T_ENDPOINT } s_type_t;

typedef struct {
    const char *key;
    s_type_t type;
    const char *value;      //  default
    int64_t min, max;       //  for T_INT
    const char *doc;
} s_key_t;

static const s_key_t s_keys [] = {
    { "db.url", T_URL, "mysql://norc@127.0.0.1:3306/norc", 0, 0,
      "MariaDB/MySQL to use: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=PATH]" },
    { "db.password_file", T_STR, "", 0, 0,
      "A file whose first line is the database password; it replaces the password of db.url (a secret kept out of the environment and the command line)" },
    { "db.connect_timeout_s", T_INT, "5", 1, 3600, "Seconds to wait for a connection" },
    { "db.read_timeout_s", T_INT, "30", 1, 3600, "Seconds to wait for a query's answer" },
    { "db.write_timeout_s", T_INT, "30", 1, 3600, "Seconds to wait while sending a query" },
    { "db.retries", T_INT, "8", 0, 1000, "Times a transaction is retried after a deadlock or a lost connection" },
    { "metrics.listen", T_STR, "", 0, 0,
      "HOST:PORT where this service serves its Prometheus metrics at /metrics (\"\": not served; * as HOST: every IPv4 address)" },
    { "web.listen", T_STR, "127.0.0.1:8080", 0, 0,
      "HOST:PORT where norc-web serves the API (/api/v1/) and the page (* as HOST: every IPv4 address)" },
    { "web.timeout_ms", T_INT, "10000", 100, 600000, "How long norc-web waits for the status-aggregator's answer (then 504)" },
    { "web.max_body", T_INT, "1048576", 1024, 67108864, "Largest request body norc-web reads, bytes (then 413)" },
    { "web.max_connections", T_INT, "256", 1, 65536, "Most HTTP connections norc-web holds at once" },
    { "web.max_per_client", T_INT, "32", 1, 65536, "Most HTTP connections from one address" },
    { "web.secure_cookie", T_BOOL, "false", 0, 0,
      "Mark the page's session cookie Secure (true when a proxy serves norc-web over HTTPS)" },
    { "web.idle_s", T_INT, "30", 1, 3600, "An HTTP connection idle this long is closed" },
    { "metrics.schedules", T_INT, "0", 0, 100000,
      "A scheduler's per-schedule series (ticks, last lateness): for the first this many schedules, the rest "
      "under schedule=\"_other\" (0: none)" },
    { "log.level", T_LEVEL, "info", 0, 0, "Lowest level logged: debug, info, warn, error" },
    { "log.dir", T_STR, "/var/lib/norc/logs", 0, 0, "Where the log-archiver keeps instance logs" },
    { "spool.dir", T_STR, "/var/lib/norc/spool", 0, 0, "Where an executor spools output while the log-archiver is away" },
    { "spool.max_bytes", T_INT, "1073741824", 0, INT64_C (1099511627776),
      "Most bytes of output an executor holds for the log-archiver (0: no limit); when its spool is full, a "
      "running task's log keeps what it has and the last MiB of the rest, and says so" },
    { "log.max_bytes", T_INT, "0", 0, INT64_C (1125899906842624),
      "Most bytes the log-archiver keeps under log.dir (0: no limit); past it the oldest complete logs are "
      "removed until nine tenths of it are used" },
    { "archiver.s3_bucket", T_STR, "", 0, 0,
      "The S3 bucket the log-archiver copies each finished log to (\"\": none); where and as whom from AWS_REGION, "
      "AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) and the credential chain (aws.*)" },
    { "archiver.s3_prefix", T_STR, "", 0, 0, "The start of every log's object key in archiver.s3_bucket (e.g. norc/)" },
    { "archiver.s3_part_bytes", T_INT, "8388608", 5242880, INT64_C (5368709120),
      "A log larger than this is uploaded in parts of this size while its instance runs (S3's least: 5 MiB)" },
    { "archiver.s3_attempts", T_INT, "6", 1, 100,
      "Tries of one S3 request when S3 throttles or fails (full-jitter backoff); then the step waits and is tried again" },
    { "archiver.s3_abandon_s", T_INT, "86400", 1, INT64_C (3153600000),
      "A multipart upload under archiver.s3_prefix that no owed log holds and that started this long ago is aborted "
      "(checked at start, then hourly)" },
    { "archiver.s3_tls_verify", T_BOOL, "true", 0, 0,
      "Verify S3's TLS certificate (never turn off but for a test endpoint)" },
    { "archiver.local_retention_s", T_INT, "0", 0, INT64_C (3153600000),
      "With archiver.s3_bucket: remove a log's local copy this many seconds after it is archived (0: keep it; "
      "log.max_bytes still applies); norcctl logs then reads it from S3" },
    { "aggregator.events", T_ENDPOINT, "tcp://127.0.0.1:7601", 0, 0,
      "status-aggregator ROUTER for lifecycle events, heartbeats and control" },
    { "aggregator.api", T_ENDPOINT, "tcp://127.0.0.1:7602", 0, 0, "status-aggregator ROUTER for norcctl" },
    { "aggregator.stream", T_ENDPOINT, "tcp://127.0.0.1:7603", 0, 0, "status-aggregator PUB: the public event stream" },
    { "scheduler.dispatch", T_ENDPOINT, "tcp://127.0.0.1:7604", 0, 0, "scheduler ROUTER that executors take work from; executors take a comma-separated list (one per scheduler)" },
    { "archiver.logs", T_ENDPOINT, "tcp://127.0.0.1:7605", 0, 0, "log-archiver ROUTER for output chunks" },
    { "archiver.fetch", T_ENDPOINT, "tcp://127.0.0.1:7606", 0, 0, "log-archiver ROUTER serving logs to readers" },
    { "listen.host", T_STR, "", 0, 0,
      "When set (e.g. *), services bind their tcp endpoints on this host instead of the endpoint's own" },
    { "security.insecure", T_BOOL, "false", 0, 0,
      "Bind anyway a tcp endpoint other hosts can reach, or an ipc endpoint other users can open, though "
      "nothing checks who connects (said as a warning every minute); without it a service refuses to start" },
    { "security.curve", T_BOOL, "false", 0, 0,
      "CURVE on every endpoint: each program uses its key pair from security.keys_dir, pins its servers' "
      "public keys, and admits only clients whose key is an admitted principal of the registry (docs/security.md)" },
    { "security.key", T_STR, "", 0, 0,
      "This program's key pair in security.keys_dir (default: its role: aggregator, archiver, scheduler, "
      "executor, web, norcctl)" },
    { "security.enrol_token", T_STR, "", 0, 0,
      "A single-use enrolment token (norcctl keys token): presented at start, it gets this program's own key "
      "admitted as the principal the token names" },
    { "security.keys_dir", T_STR, "/var/lib/norc/keys", 0, 0,
      "Where CURVE key pairs live (norcctl keys gen): NAME.key public, NAME.key_secret mode 0600" },
    { "aws.access_key_id", T_STR, "", 0, 0,
      "The AWS access key of norc-sqs-bridge, the log-archiver's S3 copies and norcctl's sqs commands when the environment has none (its secret: aws.secret_access_key_file); else the container credentials endpoint, then the instance metadata service (IMDSv2)" },
    { "aws.secret_access_key_file", T_STR, "", 0, 0,
      "A file whose first line is aws.access_key_id's secret (kept out of the environment and the command line)" },
    { "bridge.queue", T_STR, "", 0, 0, "norc-sqs-bridge: the sqs queue it carries (its SQS URL is the queue's, in the record)" },
    { "bridge.send", T_BOOL, "true", 0, 0,
      "norc-sqs-bridge: send this site's instances of the queue to SQS (the site of the schedulers)" },
    { "bridge.receive", T_BOOL, "false", 0, 0,
      "norc-sqs-bridge: receive the queue's ticks from SQS and run them on this site's executors" },
    { "bridge.dispatch", T_ENDPOINT, "tcp://127.0.0.1:7607", 0, 0,
      "norc-sqs-bridge ROUTER that a receiving site's executors take work from (their scheduler.dispatch)" },
    { "bridge.window", T_INT, "1000", 1, 100000,
      "norc-sqs-bridge: most instances it holds to send or sent and not claimed yet" },
    { "bridge.claim_deadline_ms", T_INT, "60000", 1000, 86400000,
      "norc-sqs-bridge: an instance sent and not claimed within this is sent again (the same deduplication id; the wait doubles with each send, at most 15 min)" },
    { "bridge.visibility_s", T_INT, "30", 5, 43200,
      "norc-sqs-bridge: the visibility timeout of a received message while its tick is claimed (extended until its run starts)" },
    { "bridge.batch_ms", T_INT, "10", 0, 10000,
      "norc-sqs-bridge: how long a send, a receive or a delete waits for ten to make one SQS request (latency traded for requests, which AWS bills)" },
    { "bridge.wait_s", T_INT, "20", 0, 20, "norc-sqs-bridge: the long poll of ReceiveMessage, seconds" },
    { "bridge.attempts", T_INT, "6", 1, 100,
      "norc-sqs-bridge: tries of one SQS call that AWS says to retry (throttled, 5xx, no answer), with full-jitter backoff" },
    { "bridge.fault", T_STR, "", 0, 0,
      "norc-sqs-bridge, for failure tests: kill itself (SIGKILL) the first time it reaches this point: received, claim-sent, claim-answered, started (the run started, its message not deleted), deleted, sent (a send answered); disconnected mode: claim-sent (the claim sent home), replied (home sent a claim's answer, its return message not deleted)" },
    { "bridge.mode", T_STR, "connected", 0, 0,
      "norc-sqs-bridge, receiving: connected (claims asked of the aggregator's API) or disconnected (a site that "
      "reaches only SQS: claims travel the return and reply queues, docs/sqs.md)" },
    { "bridge.url", T_STR, "", 0, 0,
      "norc-sqs-bridge: the queue's SQS URL, for a site that cannot read the record (disconnected mode); else the "
      "record's" },
    { "bridge.returns", T_BOOL, "false", 0, 0,
      "norc-sqs-bridge, home's side of disconnected sites: receive their return queue (bridge.return_url), answer "
      "their claims on their reply queues" },
    { "bridge.return_url", T_STR, "", 0, 0,
      "norc-sqs-bridge, disconnected mode: the return queue (FIFO) that carries the sites' messages home" },
    { "bridge.reply_url", T_STR, "", 0, 0,
      "norc-sqs-bridge, a disconnected site: its reply queue (FIFO), where home answers it" },
    { "bridge.peers", T_STR, "", 0, 0,
      "norc-sqs-bridge, disconnected mode: the key pairs (names in security.keys_dir, public part only) of those it "
      "seals to and opens from: a site names home's bridge, home names its sites' (comma-separated)" },
    { "bridge.events", T_ENDPOINT, "tcp://127.0.0.1:7608", 0, 0,
      "norc-sqs-bridge, a disconnected site: ROUTER for its executors' events and heartbeats (their aggregator.events)" },
    { "bridge.api", T_ENDPOINT, "tcp://127.0.0.1:7609", 0, 0,
      "norc-sqs-bridge, a disconnected site: ROUTER for its executors' registration (their aggregator.api)" },
    { "bridge.logs", T_ENDPOINT, "tcp://127.0.0.1:7610", 0, 0,
      "norc-sqs-bridge, a disconnected site: ROUTER for its executors' output (their archiver.logs)" },
    { "bridge.beat_s", T_INT, "2", 1, 3600,
      "norc-sqs-bridge, a disconnected site: how often its beat (its executors' last heartbeats) goes home; keep it "
      "under heartbeat.failure_ms: a home bridge started again learns the site's executors from the next beat" },
    { "bridge.site_failure_s", T_INT, "60", 2, 86400,
      "norc-sqs-bridge, home: a site whose beat has not come for this long is no longer said alive; its executors "
      "are recorded dead after heartbeat.failure_ms, their runs given back or ended as any dead executor's" },
    { "bridge.claim_wait_s", T_INT, "30", 1, 3600,
      "norc-sqs-bridge, a disconnected site: a claim not answered within this is asked again (the tick's message "
      "kept invisible meanwhile)" },
    { "bridge.tls_verify", T_BOOL, "true", 0, 0, "norc-sqs-bridge: verify SQS's TLS certificate (never turn off but for a test endpoint)" },
    { "heartbeat.period_ms", T_INT, "1000", 50, 60000, "How often daemons send a heartbeat" },
    { "heartbeat.failure_ms", T_INT, "5000", 200, 600000, "Silence after which a daemon is marked dead" },
    { "aggregator.batch_ms", T_INT, "5", 0, 1000,
      "How long the status-aggregator gathers lifecycle events into one commit (0: commit each wake-up's)" },
    { "scheduler.lease_ms", T_INT, "10000", 500, 600000, "Length of a scheduler's lease on its schedules" },
    { "scheduler.misfire_grace_ms", T_INT, "1000", 0, 3600000,
      "A tick later than this is handled by its schedule's catch-up policy" },
    { "executor.kill_grace_ms", T_INT, "5000", 0, 600000, "Time between SIGTERM and SIGKILL" },
    { "executor.revision_command", T_STR, "", 0, 0,
      "A shell command whose first output line is recorded as the revision of every instance (asked every "
      "executor.revision_every_s, beside the executor's loop)" },
    { "executor.revision_every_s", T_INT, "60", 1, 86400,
      "How often the revision hook is asked again (seconds); until it answers, instances record its last answer" },
    { "executor.log_max_bytes", T_INT, "67108864", 0, INT64_C (1099511627776),
      "Most bytes of a task's output kept in its log (0: no limit); past it the log keeps the start and the last "
      "MiB, and says how much was cut between them" },
    { "executor.run_as", T_STR, "", 0, 0,
      "Run tasks as this user (a name or uid), with its groups, HOME, USER and LOGNAME, so that a task cannot "
      "read the executor's spool or other tasks' output (the executor must run as root; empty: as the executor)" },
    { "executor.cgroup", T_BOOL, "true", 0, 0,
      "Run each instance in a cgroup of its own under the executor's (cgroup v2, where the host lets it write "
      "there), so that everything a task starts is ended with it; the process group and the executor's role as "
      "subreaper are used in any case" },
    { "executor.drain_ms", T_INT, "30000", 0, 86400000,
      "After SIGTERM or SIGINT, how long running instances may go on before they are interrupted" },
    { "health.file", T_STR, "", 0, 0,
      "When set, a service touches this file every heartbeat period; `norcctl health` checks it" },
    { "api.timeout_ms", T_INT, "5000", 100, 600000, "How long norcctl waits for an answer" },
};

#define N_KEYS (sizeof s_keys / sizeof s_keys [0])

struct _norc_config_t {
    char *values [N_KEYS];      //  current text of each key
    char errstr [512];          //  last error
};

static int
s_index (const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp (s_keys [i].key, key) == 0)
            return (int) i;
    return -1;
}

bool
norc_config_known (const char *key)
{
    return s_index (key) >= 0;
}

norc_config_t *
norc_config_new (void)
{
    norc_config_t *self = (norc_config_t *) norc_calloc (1, sizeof (norc_config_t));
    for (size_t i = 0; i < N_KEYS; i++)
        self->values [i] = norc_strdup (s_keys [i].value);
    return self;
}

void
norc_config_destroy (norc_config_t **self_p)
{
    if (self_p && *self_p) {
        for (size_t i = 0; i < N_KEYS; i++)
            free ((*self_p)->values [i]);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
norc_config_errstr (norc_config_t *self)
{
    return self->errstr;
}

static bool
s_parse_int (const char *text, int64_t *value)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end)
        return false;
    *value = v;
    return true;
}

static int
s_parse_bool (const char *text)
{
    if (strcasecmp (text, "1") == 0 || strcasecmp (text, "true") == 0
    ||  strcasecmp (text, "yes") == 0 || strcasecmp (text, "on") == 0)
        return 1;
    if (strcasecmp (text, "0") == 0 || strcasecmp (text, "false") == 0
    ||  strcasecmp (text, "no") == 0 || strcasecmp (text, "off") == 0)
        return 0;
    return -1;
}

int
norc_config_set (norc_config_t *self, const char *key, const char *value)
{
    int i = s_index (key);
    if (i < 0) {
        snprintf (self->errstr, sizeof self->errstr, "unknown configuration key \"%s\"", key);
        return NORC_ERROR;
    }
    const s_key_t *k = &s_keys [i];
    int64_t n;
    const char *why = NULL;
    switch (k->type) {
        case T_INT:
            if (!s_parse_int (value, &n))
                why = "not an integer";
            else
            if (n < k->min || n > k->max)
                why = "out of range";
            break;
        case T_BOOL:
            if (s_parse_bool (value) < 0)
                why = "not a boolean (true/false)";
            break;
        case T_LEVEL:
            if (norc_log_level_parse (value) < 0)
                why = "not a log level (debug, info, warn, error)";
            break;
        case T_URL:
            if (strncmp (value, "mysql://", 8) != 0 || !strchr (value + 8, '/'))
                why = "not a mysql://USER@HOST[:PORT]/DATABASE URL";
            break;
        case T_ENDPOINT:
            //  One endpoint, or a comma-separated list (for connecting)
            for (const char *one = value; one && !why; one = strchr (one, ',') ? strchr (one, ',') + 1 : NULL)
                if (strncmp (one, "tcp://", 6) != 0 && strncmp (one, "ipc://", 6) != 0
                &&  strncmp (one, "inproc://", 9) != 0)
                    why = "not a ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH, or a comma-separated list)";
            break;
        case T_STR:
            break;
    }
    if (why) {
        if (k->type == T_INT)
            snprintf (self->errstr, sizeof self->errstr,
                      "bad value \"%.100s\" for %s: %s (%lld to %lld)", value, key, why,
                      (long long) k->min, (long long) k->max);
        else
            snprintf (self->errstr, sizeof self->errstr,
                      "bad value \"%.100s\" for %s: %s", value, key, why);
        return NORC_ERROR;
    }
    free (self->values [i]);
    self->values [i] = norc_strdup (value);
    return NORC_OK;
}

static char *
s_trim (char *text)
{
    while (isspace ((unsigned char) *text))
        text++;
    size_t n = strlen (text);
    while (n && isspace ((unsigned char) text [n - 1]))
        text [--n] = 0;
    return text;
}

int
norc_config_load_file (norc_config_t *self, const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (self->errstr, sizeof self->errstr, "cannot read configuration file %s: %s",
                  path, strerror (errno));
        return NORC_ERROR;
    }
    char line [4096];
    int number = 0;
    int rc = NORC_OK;
    while (fgets (line, sizeof line, file)) {
        number++;
        char *text = s_trim (line);
        if (!*text || *text == '#')
            continue;
        char *eq = strchr (text, '=');
        if (!eq) {
            snprintf (self->errstr, sizeof self->errstr, "%s:%d: expected key = value", path, number);
            rc = NORC_ERROR;
            break;
        }
        *eq = 0;
        char *key = s_trim (text);
        char *value = s_trim (eq + 1);
        if (norc_config_set (self, key, value)) {
            char inner [512];
            snprintf (inner, sizeof inner, "%s", self->errstr);
            snprintf (self->errstr, sizeof self->errstr, "%s:%d: %.300s", path, number, inner);
            rc = NORC_ERROR;
            break;
        }
    }
    fclose (file);
    return rc;
}

//  "db.url" -> "NORC_DB_URL"
static void
s_env_name (const char *key, char *out, size_t size)
{
    size_t n = (size_t) snprintf (out, size, "NORC_");
    for (const char *p = key; *p && n + 1 < size; p++)
        out [n++] = *p == '.' ? '_' : (char) toupper ((unsigned char) *p);
    out [n] = 0;
}

int
norc_config_load_env (norc_config_t *self)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name [64];
        s_env_name (s_keys [i].key, name, sizeof name);
        const char *value = getenv (name);
        if (value && norc_config_set (self, s_keys [i].key, value)) {
            char inner [512];
            snprintf (inner, sizeof inner, "%s", self->errstr);
            snprintf (self->errstr, sizeof self->errstr, "environment %s: %.300s", name, inner);
            return NORC_ERROR;
        }
    }
    return NORC_OK;
}

//  "--db-url" or "--db.url" -> "db.url" when that is a key.
static int
s_flag_key (const char *flag, char *key, size_t size)
{
    if (strncmp (flag, "--", 2) != 0)
        return -1;
    const char *name = flag + 2;
    size_t n = strcspn (name, "=");
    if (n == 0 || n >= size)
        return -1;
    memcpy (key, name, n);
    key [n] = 0;
    if (s_index (key) >= 0)
        return s_index (key);
    //  Accept dashes for the first dot: --db-url, --heartbeat-period_ms
    for (size_t i = 0; i < n; i++)
        if (key [i] == '-') {
            key [i] = '.';
            if (s_index (key) >= 0)
                return s_index (key);
            key [i] = '-';
        }
    return -1;
}

int
norc_config_load_args (norc_config_t *self, int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *arg = argv [i];
        char key [64];
        if (strcmp (arg, "--") == 0) {
            while (i < *argc)
                argv [out++] = argv [i++];
            break;
        }
        if (strcmp (arg, "--config") == 0 || strncmp (arg, "--config=", 9) == 0) {
            const char *path = arg [8] == '=' ? arg + 9 : (i + 1 < *argc ? argv [++i] : NULL);
            if (!path) {
                snprintf (self->errstr, sizeof self->errstr, "--config needs a file");
                return NORC_ERROR;
            }
            if (norc_config_load_file (self, path))
                return NORC_ERROR;
            continue;
        }
        int k = s_flag_key (arg, key, sizeof key);
        if (k < 0) {
            argv [out++] = argv [i];
            continue;
        }
        const char *eq = strchr (arg, '=');
        const char *value = eq ? eq + 1 : (i + 1 < *argc ? argv [++i] : NULL);
        if (!value) {
            snprintf (self->errstr, sizeof self->errstr, "%s needs a value", arg);
            return NORC_ERROR;
        }
        if (norc_config_set (self, s_keys [k].key, value)) {
            char inner [512];
            snprintf (inner, sizeof inner, "%s", self->errstr);
            snprintf (self->errstr, sizeof self->errstr, "flag %.*s: %.300s",
                      (int) strcspn (arg, "="), arg, inner);
            return NORC_ERROR;
        }
    }
    argv [out] = NULL;
    *argc = out;
    return NORC_OK;
}

//  db.password_file: its first line, percent-encoded, becomes the password
//  of db.url
static int
s_splice_password (norc_config_t *self)
{
    const char *path = norc_config_str (self, "db.password_file");
    if (!path || !*path)
        return NORC_OK;
    FILE *file = fopen (path, "r");
    char line [1024] = "";
    const char *why = file ? NULL : strerror (errno);
    if (file && !fgets (line, sizeof line, file))
        line [0] = 0;
    if (file)
        fclose (file);
    line [strcspn (line, "\r\n")] = 0;
    if (why || !*line) {
        snprintf (self->errstr, sizeof self->errstr, "db.password_file: cannot read a password from %s: %s", path,
                  why ? why : "its first line is empty");
        return NORC_ERROR;
    }
    const char *url = norc_config_str (self, "db.url");
    const char *user = strstr (url, "://");
    const char *at = user ? strchr (user + 3, '@') : NULL;
    if (!at) {
        snprintf (self->errstr, sizeof self->errstr, "db.password_file: db.url names no user to give it to");
        return NORC_ERROR;
    }
    const char *colon = memchr (user + 3, ':', (size_t) (at - user - 3));
    size_t user_end = (size_t) ((colon ? colon : at) - url);
    char encoded [3 * sizeof line];
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *) line; *c; c++)
        if (isalnum (*c) || strchr ("-._~", *c))
            encoded [k++] = (char) *c;
        else
            k += (size_t) snprintf (encoded + k, 4, "%%%02X", *c);
    encoded [k] = 0;
    char *spliced = norc_asprintf ("%.*s:%s%s", (int) user_end, url, encoded, at);
    int rc = norc_config_set (self, "db.url", spliced);
    free (spliced);
    return rc;
}

int
norc_config_load (norc_config_t *self, int *argc, char **argv)
{
    const char *file = getenv ("NORC_CONFIG");
    if (file && *file && norc_config_load_file (self, file))
        return NORC_ERROR;
    if (norc_config_load_env (self))
        return NORC_ERROR;
    if (norc_config_load_args (self, argc, argv))
        return NORC_ERROR;
    return s_splice_password (self);
}

const char *
norc_config_str (norc_config_t *self, const char *key)
{
    int i = s_index (key);
    assert (i >= 0);
    return self->values [i];
}

int64_t
norc_config_int (norc_config_t *self, const char *key)
{
    int i = s_index (key);
    assert (i >= 0 && s_keys [i].type == T_INT);
    int64_t v = 0;
    s_parse_int (self->values [i], &v);
    return v;
}

bool
norc_config_bool (norc_config_t *self, const char *key)
{
    int i = s_index (key);
    assert (i >= 0 && s_keys [i].type == T_BOOL);
    return s_parse_bool (self->values [i]) == 1;
}

char *
norc_config_bind_endpoint (norc_config_t *self, const char *key)
{
    const char *endpoint = norc_config_str (self, key);
    const char *host = norc_config_str (self, "listen.host");
    const char *colon = strncmp (endpoint, "tcp://", 6) == 0 ? strrchr (endpoint + 6, ':') : NULL;
    char *bind = *host && colon ? norc_asprintf ("tcp://%s%s", host, colon) : norc_strdup (endpoint);
    //  Without CURVE nothing checks who connects: an endpoint others can
    //  reach is bound only when the operator said so
    char why [512];
    if (!norc_config_bool (self, "security.curve") && norc_zmq_exposed (bind, why, sizeof why)) {
        if (!norc_config_bool (self, "security.insecure")) {
            norc_log_warnx ("refusing to bind %s (%s): %s; bind it on 127.0.0.1 or in a directory only this "
                            "user can open, or set security.insecure (NORC_SECURITY_INSECURE=1) to bind it anyway",
                            bind, key, why);
            free (bind);
            return NULL;
        }
        norc_zmq_note_exposed (why);
    }
    return bind;
}

void
norc_config_print_markdown (FILE *out)
{
    fprintf (out, "| key | environment | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        char name [64];
        s_env_name (s_keys [i].key, name, sizeof name);
        fprintf (out, "| `%s` | `%s` | `%s` | %s", s_keys [i].key, name,
                 s_keys [i].value, s_keys [i].doc);
        if (s_keys [i].type == T_INT)
            fprintf (out, " (%lld to %lld)", (long long) s_keys [i].min, (long long) s_keys [i].max);
        fprintf (out, " |\n");
    }
}

//  norc_db.c - MySQL/MariaDB through MariaDB Connector/C: connections,
//  errors, transactions (statements are in norc_db_stmt.c).
//
//  A handle owns one connection and a cache of prepared statements keyed by
//  their SQL text (string literals in the store modules). When the server
//  goes away, the connection and every prepared statement are dropped; the
//  next use connects and prepares again. Errors are sorted into the NORC_*
//  codes in one function (s_classify): duplicate key -> NORC_CONFLICT;
//  deadlock, lock wait timeout and lost connection -> NORC_AGAIN. Only
//  norc_db_txn retries, with a short exponential backoff, so every
//  transaction body must be safe to run again (the store's bodies are: the
//  tick key, "WHERE status < final" guards and upserts make them
//  idempotent). Sessions run in UTC with READ COMMITTED isolation, and an
//  UPDATE reports the rows it matched (CLIENT_FOUND_ROWS), not only those
//  it changed, so running one twice gives the same answer.
#include "norc_db_internal.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_config.h"
#include <errmsg.h>
#include <mysqld_error.h>
#include <ctype.h>
#include <time.h>
#include <unistd.h>

//  --------------------------------------------------------------------------

static char *
s_url_decode (const char *text, size_t len)
{
    char *out = (char *) norc_malloc (len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text [i] == '%' && i + 2 < len
        &&  isxdigit ((unsigned char) text [i + 1]) && isxdigit ((unsigned char) text [i + 2])) {
            char hex [3] = { text [i + 1], text [i + 2], 0 };
            out [n++] = (char) strtol (hex, NULL, 16);
            i += 2;
        }
        else
            out [n++] = text [i];
    }
    out [n] = 0;
    return out;
}

norc_db_t *
norc_db_new (const char *url, const norc_db_options_t *options)
{
    if (!url || strncmp (url, "mysql://", 8) != 0)
        return NULL;
    const char *p = url + 8;
    const char *at = strchr (p, '@');
    const char *slash = strchr (at ? at : p, '/');
    if (!slash)
        return NULL;
    norc_db_t *self = (norc_db_t *) norc_calloc (1, sizeof (norc_db_t));
    if (at) {
        const char *colon = memchr (p, ':', (size_t) (at - p));
        self->user = s_url_decode (p, (size_t) ((colon ? colon : at) - p));
        if (colon)
            self->password = s_url_decode (colon + 1, (size_t) (at - colon - 1));
        p = at + 1;
    }
    else
        self->user = norc_strdup ("root");
    const char *colon = memchr (p, ':', (size_t) (slash - p));
    self->host = norc_strndup (p, (size_t) ((colon ? colon : slash) - p));
    self->port = colon ? (unsigned) atoi (colon + 1) : 3306;
    const char *query = strchr (slash, '?');
    self->dbname = norc_strndup (slash + 1, (size_t) ((query ? query : slash + strlen (slash)) - slash - 1));
    if (query && strncmp (query, "?socket=", 8) == 0)
        self->socket = norc_strdup (query + 8);
    for (const char *q = self->dbname; *q; q++)
        if (!isalnum ((unsigned char) *q) && *q != '_') {
            norc_db_destroy (&self);
            return NULL;
        }
    self->options = options ? *options
                            : (norc_db_options_t) { 5, 30, 30, 8 };
    return self;
}

norc_db_t *
norc_db_new_from_config (norc_config_t *config)
{
    norc_db_options_t options = {
        (int) norc_config_int (config, "db.connect_timeout_s"),
        (int) norc_config_int (config, "db.read_timeout_s"),
        (int) norc_config_int (config, "db.write_timeout_s"),
        (int) norc_config_int (config, "db.retries")
    };
    return norc_db_new (norc_config_str (config, "db.url"), &options);
}

static void
s_disconnect (norc_db_t *self)
{
    for (norc_stmt_t *s = self->stmts; s; s = s->next) {
        norc_stmt_free_result_ (s);
        if (s->stmt)
            mysql_stmt_close (s->stmt);
        s->stmt = NULL;
    }
    if (self->mysql)
        mysql_close (self->mysql);
    self->mysql = NULL;
    self->in_txn = false;
    self->manual_commit = false;
}

//  A statement outside norc_db_txn commits on its own: autocommit back on
//  if a transaction left it off.
int
norc_db_autocommit_ (norc_db_t *self)
{
    if (self->in_txn || !self->manual_commit)
        return NORC_OK;
    if (mysql_autocommit (self->mysql, 1))
        return norc_db_classify_ (self, mysql_errno (self->mysql), mysql_error (self->mysql));
    self->manual_commit = false;
    return NORC_OK;
}

void
norc_db_destroy (norc_db_t **self_p)
{
    if (self_p && *self_p) {
        norc_db_t *self = *self_p;
        s_disconnect (self);
        norc_stmt_t *s = self->stmts;
        while (s) {
            norc_stmt_t *next = s->next;
            for (int i = 0; i < s->nparams; i++)
                free (s->params [i].s);
            free (s->params);
            free (s->param_binds);
            free (s->sql);
            free (s);
            s = next;
        }
        free (self->user);
        free (self->password);
        free (self->host);
        free (self->dbname);
        free (self->socket);
        free (self);
        *self_p = NULL;
    }
}

//  Sort a MySQL error into a NORC_* code, remember its text, and drop the
//  connection when it is gone.
int
norc_db_classify_ (norc_db_t *self, unsigned err, const char *text)
{
    self->last_errno = err;
    snprintf (self->errstr, sizeof self->errstr, "%s (%u)", text ? text : "?", err);
    switch (err) {
        case ER_DUP_ENTRY:
        case ER_DUP_ENTRY_WITH_KEY_NAME:
        case ER_ROW_IS_REFERENCED_2:
            return NORC_CONFLICT;
        case ER_NO_REFERENCED_ROW_2:
            return NORC_NOTFOUND;
        case ER_LOCK_DEADLOCK:
        case ER_LOCK_WAIT_TIMEOUT:
            return NORC_AGAIN;
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_LOST:
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_SERVER_LOST_EXTENDED:
        case CR_COMMANDS_OUT_OF_SYNC:
        case ER_CONNECTION_KILLED:
        case ER_SERVER_SHUTDOWN:
        case ER_QUERY_INTERRUPTED:
        case 4031:      //  ER_CLIENT_INTERACTION_TIMEOUT
        case 1040:      //  ER_CON_COUNT_ERROR (too many connections)
            s_disconnect (self);
            return NORC_AGAIN;
        default:
            return NORC_ERROR;
    }
}

static int
s_connect_to (norc_db_t *self, const char *dbname)
{
    s_disconnect (self);
    self->mysql = mysql_init (NULL);
    unsigned ct = (unsigned) self->options.connect_timeout_s;
    unsigned rt = (unsigned) self->options.read_timeout_s;
    unsigned wt = (unsigned) self->options.write_timeout_s;
    my_bool no = 0;
    mysql_options (self->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options (self->mysql, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options (self->mysql, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_options (self->mysql, MYSQL_OPT_RECONNECT, &no);
    mysql_options (self->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect (self->mysql, self->socket ? NULL : self->host, self->user,
                             self->password, dbname, self->port, self->socket, CLIENT_FOUND_ROWS)) {
        unsigned err = mysql_errno (self->mysql);
        int rc = norc_db_classify_ (self, err, mysql_error (self->mysql));
        s_disconnect (self);
        //  Anything at connect time is worth retrying except bad credentials
        //  or an unknown database
        return (err == ER_ACCESS_DENIED_ERROR || err == ER_BAD_DB_ERROR || err == ER_DBACCESS_DENIED_ERROR)
               ? NORC_ERROR : (rc == NORC_ERROR ? NORC_AGAIN : rc);
    }
    const char *setup [] = { "SET time_zone = '+00:00'",
                             "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED" };
    for (size_t i = 0; i < 2; i++)
        if (mysql_real_query (self->mysql, setup [i], strlen (setup [i]))) {
            int rc = norc_db_classify_ (self, mysql_errno (self->mysql), mysql_error (self->mysql));
            s_disconnect (self);
            return rc;
        }
    self->errstr [0] = 0;
    self->last_errno = 0;
    return NORC_OK;
}

int
norc_db_connect (norc_db_t *self)
{
    if (self->mysql)
        return NORC_OK;
    return s_connect_to (self, self->dbname);
}

static int
s_query (norc_db_t *self, const char *sql, size_t len)
{
    int rc = norc_db_autocommit_ (self);
    if (rc)
        return rc;
    if (mysql_real_query (self->mysql, sql, len))
        return norc_db_classify_ (self, mysql_errno (self->mysql), mysql_error (self->mysql));
    MYSQL_RES *res = mysql_store_result (self->mysql);
    if (res)
        mysql_free_result (res);
    return NORC_OK;
}

int
norc_db_create_database (norc_db_t *self)
{
    int rc = s_connect_to (self, NULL);
    if (rc)
        return rc;
    char *sql = norc_asprintf ("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
                               "COLLATE utf8mb4_bin", self->dbname);
    rc = s_query (self, sql, strlen (sql));
    free (sql);
    if (rc == NORC_OK)
        rc = s_connect_to (self, self->dbname);
    return rc;
}

int
norc_db_drop_database (norc_db_t *self)
{
    int rc = norc_db_connect (self);
    if (rc)
        return rc;
    char *sql = norc_asprintf ("DROP DATABASE IF EXISTS `%s`", self->dbname);
    rc = s_query (self, sql, strlen (sql));
    free (sql);
    s_disconnect (self);
    return rc;
}

const char *norc_db_errstr (norc_db_t *self) { return self->errstr; }
unsigned    norc_db_errno (norc_db_t *self)  { return self->last_errno; }
const char *norc_db_name (norc_db_t *self)   { return self->dbname; }
bool        norc_db_in_txn (norc_db_t *self) { return self->in_txn; }

uint64_t
norc_db_thread_id (norc_db_t *self)
{
    return self->mysql ? mysql_thread_id (self->mysql) : 0;
}

int
norc_db_exec_script (norc_db_t *self, const char *sql)
{
    int rc = norc_db_connect (self);
    if (rc)
        return rc;
    const char *line = sql;
    char *acc = NULL;
    size_t acc_len = 0;
    while (*line) {
        const char *eol = strchr (line, '\n');
        size_t len = eol ? (size_t) (eol - line) : strlen (line);
        //  Skip comment lines
        const char *t = line;
        while (t < line + len && isspace ((unsigned char) *t))
            t++;
        bool comment = (size_t) (line + len - t) >= 2 && t [0] == '-' && t [1] == '-';
        if (!comment && t < line + len) {
            acc = (char *) norc_realloc (acc, acc_len + len + 2);
            memcpy (acc + acc_len, line, len);
            acc_len += len;
            acc [acc_len++] = '\n';
            acc [acc_len] = 0;
            size_t end = len;
            while (end && isspace ((unsigned char) line [end - 1]))
                end--;
            if (end && line [end - 1] == ';') {
                rc = s_query (self, acc, acc_len);
                acc_len = 0;
                if (rc)
                    break;
            }
        }
        line += len + (eol ? 1 : 0);
    }
    if (rc == NORC_OK && acc_len) {
        size_t i = 0;
        while (i < acc_len && isspace ((unsigned char) acc [i]))
            i++;
        if (i < acc_len)
            rc = s_query (self, acc, acc_len);
    }
    free (acc);
    return rc;
}

//  --------------------------------------------------------------------------
//  Transactions

void
norc_db_set_wait_hook (norc_db_t *self, norc_db_wait_fn *fn, void *arg)
{
    self->wait_fn = fn;
    self->wait_arg = arg;
}

int
norc_db_txn (norc_db_t *self, norc_db_txn_fn *fn, void *arg)
{
    assert (!self->in_txn);
    int rc = NORC_ERROR;
    int retries = self->fail_fast && self->down_since ? 0 : self->options.retries;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
            //  10 ms, 20 ms ... up to 1 s, with jitter so racers part ways
            int64_t wait = 10000LL << (attempt - 1 < 7 ? attempt - 1 : 7);
            if (wait > 1000000)
                wait = 1000000;
            wait += (norc_mono_us () % 1000) * wait / 2000;
            if (self->wait_fn)
                self->wait_fn (self->wait_arg);
            usleep ((useconds_t) wait);
            norc_log_debug ("db: retry %d after: %s", attempt, self->errstr);
        }
        rc = norc_db_connect (self);
        if (rc == NORC_AGAIN)
            continue;
        if (rc)
            return rc;
        //  Autocommit is turned off once per connection and left off:
        //  a transaction costs its statements and the COMMIT, not two more
        //  round trips to switch the mode
        if (!self->manual_commit) {
            if (mysql_autocommit (self->mysql, 0)) {
                rc = norc_db_classify_ (self, mysql_errno (self->mysql), mysql_error (self->mysql));
                if (rc == NORC_AGAIN)
                    continue;
                return rc;
            }
            self->manual_commit = true;
        }
        self->in_txn = true;
        rc = fn (self, arg);
        if (rc == NORC_OK && self->mysql && mysql_commit (self->mysql))
            rc = norc_db_classify_ (self, mysql_errno (self->mysql), mysql_error (self->mysql));
        if (rc != NORC_OK && self->mysql)
            mysql_rollback (self->mysql);
        self->in_txn = false;
        if (rc != NORC_AGAIN)
            break;
    }
    //  Out of reach: the last attempt ended without a connection
    if (rc == NORC_AGAIN && !self->mysql) {
        if (!self->down_since)
            self->down_since = norc_mono_us ();
    }
    else
        self->down_since = 0;
    return rc;
}

int64_t
norc_db_down_ms (norc_db_t *self)
{
    if (!self->down_since)
        return 0;
    int64_t ms = (norc_mono_us () - self->down_since) / 1000;
    return ms > 0 ? ms : 1;
}

void
norc_db_set_fail_fast (norc_db_t *self, bool fail_fast)
{
    self->fail_fast = fail_fast;
}

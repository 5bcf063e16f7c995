//  norc_db.c - MySQL/MariaDB through MariaDB Connector/C.
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
#include "norc_db.h"
#include "norc_mem.h"
#include "norc_log.h"
#include "norc_config.h"
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <ctype.h>
#include <time.h>
#include <unistd.h>

typedef enum { K_INT, K_TIME, K_STR } s_kind_t;

typedef struct {
    s_kind_t kind;
    long long i;                //  K_INT value
    MYSQL_TIME t;               //  K_TIME value
    char *buf;                  //  K_STR buffer
    unsigned long buflen;       //  its size
    unsigned long length;       //  bytes in the value
    my_bool is_null;
    my_bool error;
    char *name;                 //  column name
} s_col_t;

typedef struct {
    enum enum_field_types type;      //  MYSQL_TYPE_LONGLONG/STRING/DATETIME/NULL
    bool is_unsigned;
    long long i;
    MYSQL_TIME t;
    char *s;
    unsigned long len;
} s_param_t;

struct _norc_stmt_t {
    norc_db_t *db;              //  owner
    char *sql;                  //  SQL text (a copy)
    MYSQL_STMT *stmt;           //  NULL until prepared on this connection
    s_param_t *params;          //  bound values, by position
    int nparams;                //  positions bound
    MYSQL_BIND *param_binds;    //  rebuilt at each exec
    s_col_t *cols;              //  result columns of the last exec
    MYSQL_BIND *col_binds;
    int ncols;
    bool has_result;            //  a result set is stored
    char text [64];             //  norc_stmt_text scratch
    norc_stmt_t *next;          //  cache list
};

struct _norc_db_t {
    MYSQL *mysql;               //  NULL while disconnected
    char *user, *password, *host, *dbname, *socket;
    unsigned port;
    norc_db_options_t options;
    norc_stmt_t *stmts;         //  statement cache
    bool in_txn;
    bool manual_commit;         //  the session's autocommit is off (left off between transactions)
    norc_db_wait_fn *wait_fn;   //  called before each wait between retries
    void *wait_arg;
    unsigned last_errno;
    char errstr [512];
    norc_us_t down_since;       //  monotonic: since when the server is out of reach, 0 when not
    bool fail_fast;             //  while out of reach: one attempt per transaction, no retries
};

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
s_stmt_free_result (norc_stmt_t *self)
{
    if (self->stmt && self->has_result)
        mysql_stmt_free_result (self->stmt);
    for (int i = 0; i < self->ncols; i++) {
        free (self->cols [i].buf);
        free (self->cols [i].name);
    }
    free (self->cols);
    free (self->col_binds);
    self->cols = NULL;
    self->col_binds = NULL;
    self->ncols = 0;
    self->has_result = false;
}

static void
s_disconnect (norc_db_t *self)
{
    for (norc_stmt_t *s = self->stmts; s; s = s->next) {
        s_stmt_free_result (s);
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

static int s_classify (norc_db_t *self, unsigned err, const char *text);

//  A statement outside norc_db_txn commits on its own: autocommit back on
//  if a transaction left it off.
static int
s_autocommit (norc_db_t *self)
{
    if (self->in_txn || !self->manual_commit)
        return NORC_OK;
    if (mysql_autocommit (self->mysql, 1))
        return s_classify (self, mysql_errno (self->mysql), mysql_error (self->mysql));
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
static int
s_classify (norc_db_t *self, unsigned err, const char *text)
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
        int rc = s_classify (self, err, mysql_error (self->mysql));
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
            int rc = s_classify (self, mysql_errno (self->mysql), mysql_error (self->mysql));
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
    int rc = s_autocommit (self);
    if (rc)
        return rc;
    if (mysql_real_query (self->mysql, sql, len))
        return s_classify (self, mysql_errno (self->mysql), mysql_error (self->mysql));
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
//  Statements

norc_stmt_t *
norc_db_stmt (norc_db_t *self, const char *sql)
{
    norc_stmt_t *s;
    for (s = self->stmts; s; s = s->next)
        if (strcmp (s->sql, sql) == 0)
            break;
    if (!s) {
        s = (norc_stmt_t *) norc_calloc (1, sizeof (norc_stmt_t));
        s->db = self;
        s->sql = norc_strdup (sql);
        s->next = self->stmts;
        self->stmts = s;
    }
    s_stmt_free_result (s);
    for (int i = 0; i < s->nparams; i++) {
        free (s->params [i].s);
        s->params [i].s = NULL;
        s->params [i].type = MYSQL_TYPE_NULL;
    }
    s->nparams = 0;
    return s;
}

static s_param_t *
s_param (norc_stmt_t *self, int index)
{
    assert (index >= 0 && index < 65535);      //  MySQL's limit on placeholders
    if (index >= self->nparams) {
        self->params = (s_param_t *) norc_realloc (self->params, (size_t) (index + 1) * sizeof (s_param_t));
        for (int i = self->nparams; i <= index; i++) {
            memset (&self->params [i], 0, sizeof (s_param_t));
            self->params [i].type = MYSQL_TYPE_NULL;
        }
        self->nparams = index + 1;
    }
    s_param_t *p = &self->params [index];
    free (p->s);
    p->s = NULL;
    return p;
}

void
norc_stmt_bind_i64 (norc_stmt_t *self, int index, int64_t value)
{
    s_param_t *p = s_param (self, index);
    p->type = MYSQL_TYPE_LONGLONG;
    p->is_unsigned = false;
    p->i = value;
}

void
norc_stmt_bind_u64 (norc_stmt_t *self, int index, uint64_t value)
{
    s_param_t *p = s_param (self, index);
    p->type = MYSQL_TYPE_LONGLONG;
    p->is_unsigned = true;
    memcpy (&p->i, &value, sizeof (value));
}

void
norc_stmt_bind_str (norc_stmt_t *self, int index, const char *value)
{
    s_param_t *p = s_param (self, index);
    if (!value) {
        p->type = MYSQL_TYPE_NULL;
        return;
    }
    p->type = MYSQL_TYPE_STRING;
    p->s = norc_strdup (value);
    p->len = (unsigned long) strlen (value);
}

static void
s_us_to_mysql (norc_us_t us, MYSQL_TIME *t)
{
    int64_t secs = us >= 0 ? us / NORC_US_PER_SEC : (us - 999999) / NORC_US_PER_SEC;
    time_t tt = (time_t) secs;
    struct tm tm;
    gmtime_r (&tt, &tm);
    memset (t, 0, sizeof (*t));
    t->year = (unsigned) tm.tm_year + 1900;
    t->month = (unsigned) tm.tm_mon + 1;
    t->day = (unsigned) tm.tm_mday;
    t->hour = (unsigned) tm.tm_hour;
    t->minute = (unsigned) tm.tm_min;
    t->second = (unsigned) tm.tm_sec;
    t->second_part = (unsigned long) (us - secs * NORC_US_PER_SEC);
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static norc_us_t
s_mysql_to_us (const MYSQL_TIME *t)
{
    struct tm tm = { 0 };
    tm.tm_year = (int) t->year - 1900;
    tm.tm_mon = (int) t->month - 1;
    tm.tm_mday = (int) t->day;
    tm.tm_hour = (int) t->hour;
    tm.tm_min = (int) t->minute;
    tm.tm_sec = (int) t->second;
    return (norc_us_t) timegm (&tm) * NORC_US_PER_SEC + (norc_us_t) t->second_part;
}

void
norc_stmt_bind_time (norc_stmt_t *self, int index, norc_us_t value)
{
    s_param_t *p = s_param (self, index);
    if (value == 0) {
        p->type = MYSQL_TYPE_NULL;
        return;
    }
    p->type = MYSQL_TYPE_DATETIME;
    s_us_to_mysql (value, &p->t);
}

void
norc_stmt_bind_null (norc_stmt_t *self, int index)
{
    s_param (self, index)->type = MYSQL_TYPE_NULL;
}

static int
s_stmt_error (norc_stmt_t *self)
{
    return s_classify (self->db, mysql_stmt_errno (self->stmt), mysql_stmt_error (self->stmt));
}

static int
s_bind_results (norc_stmt_t *self, MYSQL_RES *meta)
{
    self->ncols = (int) mysql_num_fields (meta);
    self->cols = (s_col_t *) norc_calloc ((size_t) self->ncols, sizeof (s_col_t));
    self->col_binds = (MYSQL_BIND *) norc_calloc ((size_t) self->ncols, sizeof (MYSQL_BIND));
    MYSQL_FIELD *fields = mysql_fetch_fields (meta);
    for (int i = 0; i < self->ncols; i++) {
        s_col_t *c = &self->cols [i];
        MYSQL_BIND *b = &self->col_binds [i];
        c->name = norc_strdup (fields [i].name);
        switch (fields [i].type) {
            case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG:
            case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_INT24: case MYSQL_TYPE_YEAR:
                c->kind = K_INT;
                b->buffer_type = MYSQL_TYPE_LONGLONG;
                b->buffer = &c->i;
                b->is_unsigned = (fields [i].flags & UNSIGNED_FLAG) != 0;
                break;
            case MYSQL_TYPE_DATETIME: case MYSQL_TYPE_TIMESTAMP: case MYSQL_TYPE_DATE:
                c->kind = K_TIME;
                b->buffer_type = MYSQL_TYPE_DATETIME;
                b->buffer = &c->t;
                break;
            default:
                c->kind = K_STR;
                c->buflen = fields [i].max_length + 1;
                c->buf = (char *) norc_malloc (c->buflen);
                b->buffer_type = MYSQL_TYPE_STRING;
                b->buffer = c->buf;
                b->buffer_length = c->buflen;
                break;
        }
        b->length = &c->length;
        b->is_null = &c->is_null;
        b->error = &c->error;
    }
    if (mysql_stmt_bind_result (self->stmt, self->col_binds))
        return s_stmt_error (self);
    return NORC_OK;
}

int
norc_stmt_exec (norc_stmt_t *self)
{
    norc_db_t *db = self->db;
    int rc = norc_db_connect (db);
    if (rc == NORC_OK)
        rc = s_autocommit (db);
    if (rc)
        return rc;
    if (!self->stmt) {
        self->stmt = mysql_stmt_init (db->mysql);
        my_bool on = 1;
        mysql_stmt_attr_set (self->stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
        if (mysql_stmt_prepare (self->stmt, self->sql, strlen (self->sql))) {
            rc = s_stmt_error (self);
            if (self->stmt) {
                mysql_stmt_close (self->stmt);
                self->stmt = NULL;
            }
            return rc;
        }
    }
    int expected = (int) mysql_stmt_param_count (self->stmt);
    if (expected != self->nparams) {
        snprintf (db->errstr, sizeof db->errstr, "statement wants %d parameters, %d bound: %.200s",
                  expected, self->nparams, self->sql);
        return NORC_ERROR;
    }
    free (self->param_binds);
    self->param_binds = (MYSQL_BIND *) norc_calloc ((size_t) (expected ? expected : 1), sizeof (MYSQL_BIND));
    for (int i = 0; i < expected; i++) {
        s_param_t *p = &self->params [i];
        MYSQL_BIND *b = &self->param_binds [i];
        b->buffer_type = p->type;
        switch (p->type) {
            case MYSQL_TYPE_LONGLONG:
                b->buffer = &p->i;
                b->is_unsigned = p->is_unsigned;
                break;
            case MYSQL_TYPE_STRING:
                b->buffer = p->s;
                b->buffer_length = p->len;
                b->length = &p->len;
                break;
            case MYSQL_TYPE_DATETIME:
                b->buffer = &p->t;
                break;
            default:
                break;
        }
    }
    if (expected && mysql_stmt_bind_param (self->stmt, self->param_binds))
        return s_stmt_error (self);
    if (mysql_stmt_execute (self->stmt))
        return s_stmt_error (self);
    MYSQL_RES *meta = mysql_stmt_result_metadata (self->stmt);
    if (meta) {
        if (mysql_stmt_store_result (self->stmt)) {
            mysql_free_result (meta);
            return s_stmt_error (self);
        }
        self->has_result = true;
        //  max_length is known only after store_result
        mysql_free_result (meta);
        meta = mysql_stmt_result_metadata (self->stmt);
        rc = s_bind_results (self, meta);
        mysql_free_result (meta);
        return rc;
    }
    return NORC_OK;
}

uint64_t
norc_stmt_insert_id (norc_stmt_t *self)
{
    return self->stmt ? mysql_stmt_insert_id (self->stmt) : 0;
}

uint64_t
norc_stmt_affected (norc_stmt_t *self)
{
    return self->stmt ? mysql_stmt_affected_rows (self->stmt) : 0;
}

int
norc_stmt_fetch (norc_stmt_t *self)
{
    if (!self->has_result)
        return NORC_NOTFOUND;
    int r = mysql_stmt_fetch (self->stmt);
    if (r == MYSQL_NO_DATA)
        return NORC_NOTFOUND;
    if (r == 1)
        return s_stmt_error (self);
    //  MYSQL_DATA_TRUNCATED cannot happen: buffers are sized by max_length
    for (int i = 0; i < self->ncols; i++)
        if (self->cols [i].kind == K_STR && !self->cols [i].is_null)
            self->cols [i].buf [self->cols [i].length < self->cols [i].buflen
                                ? self->cols [i].length : self->cols [i].buflen - 1] = 0;
    return NORC_OK;
}

int         norc_stmt_columns (norc_stmt_t *self) { return self->ncols; }

const char *
norc_stmt_column_name (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    return self->cols [col].name;
}

bool
norc_stmt_is_null (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    return self->cols [col].is_null;
}

int64_t
norc_stmt_i64 (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    s_col_t *c = &self->cols [col];
    if (c->is_null)
        return 0;
    if (c->kind == K_INT)
        return c->i;
    if (c->kind == K_STR)
        return strtoll (c->buf, NULL, 10);
    return s_mysql_to_us (&c->t);
}

uint64_t
norc_stmt_u64 (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    s_col_t *c = &self->cols [col];
    if (c->is_null)
        return 0;
    if (c->kind == K_STR)
        return strtoull (c->buf, NULL, 10);
    uint64_t v;
    memcpy (&v, &c->i, sizeof v);
    return v;
}

const char *
norc_stmt_str (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    s_col_t *c = &self->cols [col];
    if (c->is_null)
        return NULL;
    if (c->kind == K_STR)
        return c->buf;
    return norc_stmt_text (self, col);
}

norc_us_t
norc_stmt_time (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    s_col_t *c = &self->cols [col];
    if (c->is_null || c->kind != K_TIME)
        return 0;
    return s_mysql_to_us (&c->t);
}

const char *
norc_stmt_text (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    s_col_t *c = &self->cols [col];
    if (c->is_null)
        return "";
    switch (c->kind) {
        case K_STR:
            return c->buf;
        case K_INT:
            if (self->col_binds [col].is_unsigned)
                snprintf (self->text, sizeof self->text, "%llu", (unsigned long long) norc_stmt_u64 (self, col));
            else
                snprintf (self->text, sizeof self->text, "%lld", c->i);
            return self->text;
        case K_TIME:
            return norc_time_iso (s_mysql_to_us (&c->t), self->text, sizeof self->text);
    }
    return "";
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
                rc = s_classify (self, mysql_errno (self->mysql), mysql_error (self->mysql));
                if (rc == NORC_AGAIN)
                    continue;
                return rc;
            }
            self->manual_commit = true;
        }
        self->in_txn = true;
        rc = fn (self, arg);
        if (rc == NORC_OK && self->mysql && mysql_commit (self->mysql))
            rc = s_classify (self, mysql_errno (self->mysql), mysql_error (self->mysql));
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

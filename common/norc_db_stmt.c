//  norc_db_stmt.c - prepared statements: bound parameters, result columns
//  bound once per execution, conversion of DATETIME(6) to and from Norc's
//  microseconds. A statement is prepared again on the next connection after
//  the server went away.
#include "norc_db_internal.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <errmsg.h>
#include <mysqld_error.h>
#include <ctype.h>
#include <time.h>

void
norc_stmt_free_result_ (norc_stmt_t *self)
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
    norc_stmt_free_result_ (s);
    for (int i = 0; i < s->nparams; i++) {
        free (s->params [i].s);
        s->params [i].s = NULL;
        s->params [i].type = MYSQL_TYPE_NULL;
    }
    s->nparams = 0;
    return s;
}

static norc_db_param_t *
s_param (norc_stmt_t *self, int index)
{
    assert (index >= 0 && index < 65535);      //  MySQL's limit on placeholders
    if (index >= self->nparams) {
        self->params = (norc_db_param_t *) norc_realloc (self->params, (size_t) (index + 1) * sizeof (norc_db_param_t));
        for (int i = self->nparams; i <= index; i++) {
            memset (&self->params [i], 0, sizeof (norc_db_param_t));
            self->params [i].type = MYSQL_TYPE_NULL;
        }
        self->nparams = index + 1;
    }
    norc_db_param_t *p = &self->params [index];
    free (p->s);
    p->s = NULL;
    return p;
}

void
norc_stmt_bind_i64 (norc_stmt_t *self, int index, int64_t value)
{
    norc_db_param_t *p = s_param (self, index);
    p->type = MYSQL_TYPE_LONGLONG;
    p->is_unsigned = false;
    p->i = value;
}

void
norc_stmt_bind_u64 (norc_stmt_t *self, int index, uint64_t value)
{
    norc_db_param_t *p = s_param (self, index);
    p->type = MYSQL_TYPE_LONGLONG;
    p->is_unsigned = true;
    memcpy (&p->i, &value, sizeof (value));
}

void
norc_stmt_bind_str (norc_stmt_t *self, int index, const char *value)
{
    norc_db_param_t *p = s_param (self, index);
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
    norc_db_param_t *p = s_param (self, index);
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
    return norc_db_classify_ (self->db, mysql_stmt_errno (self->stmt), mysql_stmt_error (self->stmt));
}

static int
s_bind_results (norc_stmt_t *self, MYSQL_RES *meta)
{
    self->ncols = (int) mysql_num_fields (meta);
    self->cols = (norc_db_col_t *) norc_calloc ((size_t) self->ncols, sizeof (norc_db_col_t));
    self->col_binds = (MYSQL_BIND *) norc_calloc ((size_t) self->ncols, sizeof (MYSQL_BIND));
    MYSQL_FIELD *fields = mysql_fetch_fields (meta);
    for (int i = 0; i < self->ncols; i++) {
        norc_db_col_t *c = &self->cols [i];
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
        rc = norc_db_autocommit_ (db);
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
        norc_db_param_t *p = &self->params [i];
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
    norc_db_col_t *c = &self->cols [col];
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
    norc_db_col_t *c = &self->cols [col];
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
    norc_db_col_t *c = &self->cols [col];
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
    norc_db_col_t *c = &self->cols [col];
    if (c->is_null || c->kind != K_TIME)
        return 0;
    return s_mysql_to_us (&c->t);
}

const char *
norc_stmt_text (norc_stmt_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    norc_db_col_t *c = &self->cols [col];
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

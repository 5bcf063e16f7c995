//  norc_db_internal.h - the handle and statement that norc_db.c
//  (connections, errors, transactions) and norc_db_stmt.c (statements)
//  share. Only these two files and the store modules see <mysql.h>.
#ifndef NORC_DB_INTERNAL_H_INCLUDED
#define NORC_DB_INTERNAL_H_INCLUDED
#include "norc_db.h"
#include <mysql.h>

typedef enum { K_INT, K_TIME, K_STR } norc_db_kind_t;

typedef struct {
    norc_db_kind_t kind;
    long long i;                //  K_INT value
    MYSQL_TIME t;               //  K_TIME value
    char *buf;                  //  K_STR buffer
    unsigned long buflen;       //  its size
    unsigned long length;       //  bytes in the value
    my_bool is_null;
    my_bool error;
    char *name;                 //  column name
} norc_db_col_t;

typedef struct {
    enum enum_field_types type;      //  MYSQL_TYPE_LONGLONG/STRING/DATETIME/NULL
    bool is_unsigned;
    long long i;
    MYSQL_TIME t;
    char *s;
    unsigned long len;
} norc_db_param_t;

struct _norc_stmt_t {
    norc_db_t *db;              //  owner
    char *sql;                  //  SQL text (a copy)
    MYSQL_STMT *stmt;           //  NULL until prepared on this connection
    norc_db_param_t *params;          //  bound values, by position
    int nparams;                //  positions bound
    MYSQL_BIND *param_binds;    //  rebuilt at each exec
    norc_db_col_t *cols;              //  result columns of the last exec
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

//  Sort a server error into a NORC_* code (drops the connection when it
//  was lost) and keep its text for norc_db_errstr.
int norc_db_classify_ (norc_db_t *self, unsigned err, const char *text);

//  Outside a transaction a statement commits on its own: autocommit back
//  on if a transaction left it off.
int norc_db_autocommit_ (norc_db_t *self);

//  Free a statement's result columns (and the server's result set).
void norc_stmt_free_result_ (norc_stmt_t *self);

#endif

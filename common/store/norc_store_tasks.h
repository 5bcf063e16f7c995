//  norc_store_tasks.h - the record's tasks: what runs.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_TASKS_H_INCLUDED
#define NORC_STORE_TASKS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

typedef struct {
    uint64_t id;
    char *name;
    int kind;                   //  NORC_TASK_*
    char *description;          //  may be NULL
    char *command;              //  command tasks
    int timeout_s;              //  0 = none
    int64_t log_max_bytes;      //  its log's cap; 0 = the executor's default (executor.log_max_bytes)
    char *cwd;                  //  NULL = the executor's
    int nice;
    int retry_max;              //  extra attempts after the first
    int retry_backoff_s;        //  first retry delay, doubled each time
    int retry_cap_s;            //  longest delay
    norc_strmap_t env;          //  extra environment
    norc_strmap_t secret;       //  the names in env whose values are secret (value "1"): never shown
    norc_us_t deleted_at;       //  0 while live
} norc_task_t;

void norc_task_clear (norc_task_t *self);

//  Tasks. task_add fills task->id.
int norc_store_task_add (norc_db_t *db, norc_task_t *task);
//  By name, or by "#ID".
int norc_store_task_get (norc_db_t *db, const char *name, norc_task_t *task);
int norc_store_task_list (norc_db_t *db, norc_rows_t *rows);
//  Soft delete; NORC_CONFLICT while live schedules use it.
int norc_store_task_rm (norc_db_t *db, const char *name);

#endif

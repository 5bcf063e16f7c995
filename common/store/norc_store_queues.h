//  norc_store_queues.h - the record's queues and groups of queues (one name space).
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_QUEUES_H_INCLUDED
#define NORC_STORE_QUEUES_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

typedef struct {
    uint64_t id;
    char *name;
    int kind;                   //  NORC_QUEUE_*
    char *url;                  //  an sqs queue's URL (NULL for the others)
} norc_queue_t;

void norc_queue_clear (norc_queue_t *self);

//  Queues and groups (one name space)
//  url: an sqs queue's (NULL for the others)
int norc_store_queue_add (norc_db_t *db, const char *name, int kind, const char *url, uint64_t *id);
int norc_store_queue_get (norc_db_t *db, const char *name, norc_queue_t *queue);
//  Rows: id, name, kind, waiting (instances not yet started), executors
//  (alive: heartbeat after alive_after), oldest_us (how long the oldest
//  waiting instance of the queue itself has waited, in microseconds; 0
//  when none), url (an sqs queue's; '' for the others). Executors and
//  bridges are counted alike: the daemons that take a queue's work.
int norc_store_queue_list (norc_db_t *db, norc_us_t alive_after, norc_rows_t *rows);
//  How many live executors or bridges (heard from after alive_after, not
//  ended) take work from a queue: those on it and those on a group it is in.
int norc_store_queue_servers (norc_db_t *db, uint64_t queue_id, norc_us_t alive_after, int64_t *count);
int norc_store_queue_rm (norc_db_t *db, const char *name);
//  A group of existing (non-group) queues with priorities (lower first).
int norc_store_group_add (norc_db_t *db, const char *name, const char **queues,
                          const int *priorities, size_t count, uint64_t *id);
//  Rows: queue_id, queue, priority, in serving order.
int norc_store_group_members (norc_db_t *db, const char *group, norc_rows_t *rows);

#endif

//  norc_store_control.h - the record's control requests to daemons.
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_CONTROL_H_INCLUDED
#define NORC_STORE_CONTROL_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"

//  Control requests
int norc_store_control_add (norc_db_t *db, uint64_t daemon_id, int request,
                            const char *by, uint64_t *id);
//  Pending or delivered requests for a daemon, oldest first: rows id,
//  request, requested_by.
int norc_store_control_pending (norc_db_t *db, uint64_t daemon_id, norc_rows_t *rows);
int norc_store_control_mark (norc_db_t *db, uint64_t id, int state, const char *reason);

#endif

//  norc_store.h - every operation on Norc's durable record. Each function is
//  one business operation and one transaction (retried by norc_db_txn on a
//  deadlock or a lost connection), with its SQL right above it in its
//  concept's module under common/store/ (store_<concept>.c, declared in
//  norc_store_<concept>.h; this header includes them all). Callers never
//  see SQL or MySQL types.
//
//  Return codes: NORC_OK; NORC_NOTFOUND when the thing named does not exist
//  (or, for tick writes, when the caller's lease is no longer current);
//  NORC_CONFLICT when a unique name or tick key is taken or the row is in a
//  state that forbids the change; NORC_AGAIN when the database stayed away
//  through every retry; NORC_ERROR otherwise (norc_db_errstr says why).
#ifndef NORC_STORE_H_INCLUDED
#define NORC_STORE_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include "norc_pack.h"
#include "norc_dag.h"

enum { NORC_SCHED_PERIOD = 1, NORC_SCHED_CRON = 2 };
enum { NORC_TRIGGER_SCHEDULE = 1, NORC_TRIGGER_MANUAL = 2, NORC_TRIGGER_JOB = 3, NORC_TRIGGER_RETRY = 4 };
enum { NORC_CONTROL_PENDING = 1, NORC_CONTROL_DELIVERED = 2, NORC_CONTROL_DONE = 3, NORC_CONTROL_REFUSED = 4 };


#include "norc_store_queues.h"
#include "norc_store_tasks.h"
#include "norc_store_schedules.h"
#include "norc_store_ticks.h"
#include "norc_store_instances.h"
#include "norc_store_daemons.h"
#include "norc_store_leases.h"
#include "norc_store_control.h"
#include "norc_store_jobs.h"
#include "norc_store_audit.h"
#include "norc_store_principals.h"
#include "norc_store_tokens.h"
#include "norc_store_claims.h"
#include "norc_store_archives.h"

#endif

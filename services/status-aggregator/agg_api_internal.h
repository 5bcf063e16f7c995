//  agg_api_internal.h - what the parts of the aggregator's API share: the
//  argument checks and replies (agg_api.c) and each part's operations.
//  Every operation has the same shape: read the string arguments, make one
//  store call, fill the reply.
#ifndef AGG_API_INTERNAL_H_INCLUDED
#define AGG_API_INTERNAL_H_INCLUDED
#include "agg_api.h"
#include "norc_store.h"

typedef void (agg_op_fn) (agg_api_t *self, const norc_strmap_t *args, norc_api_reply_t *reply);

//  Replies and arguments (agg_api.c)

//  Fill the reply's code and one-line error.
void agg_reply_error (norc_api_reply_t *reply, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
//  A store failure that is not the caller's fault (says when the database
//  is unavailable, and for how long).
void agg_reply_store (agg_api_t *self, norc_api_reply_t *reply, int rc, const char *what);
//  An argument, or NULL when absent or empty.
const char *agg_arg (const norc_strmap_t *args, const char *key);
//  An optional whole number from 0 to max; false on a bad value (reply filled).
bool agg_arg_int (const norc_strmap_t *args, const char *key, int64_t deflt, int64_t max,
                  int64_t *value, norc_api_reply_t *reply);
//  An optional size (K, M, G, T), up to max bytes; false on a bad value.
bool agg_arg_size (const norc_strmap_t *args, const char *key, int64_t max, int64_t *value,
                   norc_api_reply_t *reply);
//  True for "1", "true" or "yes".
bool agg_arg_flag (const norc_strmap_t *args, const char *key);
//  A definition's name: up to 64 of letters, digits and _ - . : @.
bool agg_valid_name (const char *name, norc_api_reply_t *reply, const char *what);
//  Tell the schedulers a schedule changed.
void agg_notify_schedule (agg_api_t *self, uint64_t id, const char *op);
//  A warning in the first row when no live executor serves the queue.
void agg_warn_unserved (agg_api_t *self, const norc_queue_t *queue, norc_api_reply_t *reply);
//  A row with one unsigned number.
void agg_row_u64 (norc_api_reply_t *reply, const char *key, uint64_t value);
//  The named queue, which must exist and accept pushes (not a group).
bool agg_push_queue (agg_api_t *self, const char *name, norc_queue_t *queue, norc_api_reply_t *reply);
//  The named task, which must exist and not be deleted.
bool agg_live_task (agg_api_t *self, const char *name, norc_task_t *task, norc_api_reply_t *reply);

//  Run one operation by name (no audit); false when there is none.
bool agg_api_run_op (agg_api_t *self, const char *op, const norc_strmap_t *args, norc_api_reply_t *reply);

//  The audit (agg_api_audit.c)

//  Whether an operation changes something (everything but reads).
bool agg_audit_is_change (const char *op);
//  The state of an operation's target as JSON (one row of its show
//  operation), or NULL when it has none; reply (may be NULL) is the
//  operation's reply, for a target it created.
char *agg_audit_state (agg_api_t *self, const char *op, const norc_strmap_t *args, const norc_api_reply_t *reply);
//  Record a change or its refusal, and publish it on the stream.
void agg_audit_record (agg_api_t *self, const norc_api_request_t *request, const norc_api_reply_t *reply,
                       const char *before);
agg_op_fn agg_op_audit_list, agg_op_audit_verify;

//  Definitions (agg_api_defs.c)
agg_op_fn agg_op_queue_add, agg_op_queue_list, agg_op_queue_show, agg_op_queue_rm, agg_op_group_add;
agg_op_fn agg_op_task_add, agg_op_task_list, agg_op_task_show, agg_op_task_rm;
agg_op_fn agg_op_job_add, agg_op_job_show;

//  Schedules (agg_api_schedules.c)
agg_op_fn agg_op_schedule_add, agg_op_schedule_list, agg_op_schedule_show, agg_op_schedule_rm;
agg_op_fn agg_op_schedule_pause_op, agg_op_schedule_resume_op, agg_op_schedule_history, agg_op_cron_next;

//  Runs and instances (agg_api_runs.c)
agg_op_fn agg_op_run, agg_op_status_executors, agg_op_status_schedulers, agg_op_status_bridges, agg_op_status_archivers,
    agg_op_status_instances;
agg_op_fn agg_op_instance_show, agg_op_instance_log, agg_op_instance_kill, agg_op_instance_handle_op, agg_op_instance_rerun,
          agg_op_instance_archived;

//  Principals (agg_api_keys.c)
agg_op_fn agg_op_keys_list, agg_op_keys_pending, agg_op_keys_add, agg_op_keys_accept, agg_op_keys_reject;
agg_op_fn agg_op_keys_revoke, agg_op_keys_rotate, agg_op_keys_token, agg_op_keys_enrol;

//  SQS bridges (agg_api_sqs.c)
agg_op_fn agg_op_sqs_claim, agg_op_sqs_release, agg_op_sqs_waiting;

//  API tokens (agg_api_tokens.c)
agg_op_fn agg_op_token_add, agg_op_token_list, agg_op_token_revoke;
agg_op_fn agg_op_user_add, agg_op_user_list, agg_op_user_rm, agg_op_session_open, agg_op_session_close;

#endif

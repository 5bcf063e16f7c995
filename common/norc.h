//  norc.h - the prelude every Norc source includes: standard headers, return
//  codes, status and request codes, time helpers.
#ifndef NORC_H_INCLUDED
#define NORC_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#define NORC_OK         0
#define NORC_ERROR     -1   //  Failed; the reason is logged or in the object's errstr
#define NORC_AGAIN     -2   //  Transient (timeout, deadlock, lost link); caller may retry
#define NORC_NOTFOUND  -3   //  The thing asked for does not exist
#define NORC_CONFLICT  -4   //  State changed under us, or the key already exists
#define NORC_DENIED    -5   //  The sender may not ask for this (its principal's roles)

//  Return a short English text for a NORC_* return code.
const char *
    norc_strerror (int rc);

//  Status codes: the original's numbers. final >= 7, failure >= 13.
typedef enum {
    NORC_ST_CREATED     = 1,    //  row exists; for an instance: waiting in its queue
    NORC_ST_RUNNING     = 2,
    NORC_ST_PAUSED      = 3,    //  daemon takes no new work
    NORC_ST_STOPPING    = 4,    //  executor draining; ENDED when empty
    NORC_ST_SUSPENDED   = 5,    //  executor paused by a machine fault (error group)
    NORC_ST_PAUSING     = 6,    //  executor paused, instances still running
    NORC_ST_SUCCESS     = 7,
    NORC_ST_ENDED       = 8,    //  daemon shut down gracefully
    NORC_ST_KILLED      = 9,    //  daemon killed on request
    NORC_ST_SKIPPED     = 10,   //  job node not run: an upstream node failed
    NORC_ST_HANDLED     = 12,   //  error acknowledged by an operator
    NORC_ST_FAILURE     = 13,   //  the task's fault (non-zero exit)
    NORC_ST_ERROR       = 14,   //  Norc's own fault (lost executor, spawn failure)
    NORC_ST_TIMEDOUT    = 15,
    NORC_ST_INTERRUPTED = 16    //  killed by an operator or a shutdown
} norc_status_t;

#define NORC_STATUS_IS_FINAL(s)    ((s) >= 7)
#define NORC_STATUS_IS_FAILURE(s)  ((s) >= 13)

//  Request codes: the original's numbers plus HANDLE.
typedef enum {
    NORC_REQ_STOP   = 1,
    NORC_REQ_KILL   = 2,
    NORC_REQ_PAUSE  = 7,
    NORC_REQ_RESUME = 8,
    NORC_REQ_RELOAD = 9,
    NORC_REQ_HANDLE = 12,
    NORC_REQ_REREGISTER = 20    //  from the aggregator to a daemon recorded dead that still talks:
                                //  register again (a new id); what it runs it reports under the old one
} norc_request_t;

//  Why an instance ended as it did, as a code: what policy reads (a retry,
//  whether a late end may replace a guess), never the reason's text,
//  which is for people.
typedef enum {
    NORC_WHY_EXIT           = 0,    //  its command exited (SUCCESS, or FAILURE with the code)
    NORC_WHY_SIGNAL         = 1,    //  killed by a signal Norc did not send
    NORC_WHY_TIMEOUT        = 2,    //  its task's timeout
    NORC_WHY_KILL_REQUEST   = 3,    //  an operator's kill
    NORC_WHY_INTERRUPTED    = 4,    //  its executor stopped it (drain over, a second signal)
    NORC_WHY_HEARTBEAT_LOST = 5,    //  its executor fell silent past the threshold (a guess: the
                                    //  executor's own end, if it comes, replaces it)
    NORC_WHY_EXECUTOR_DIED  = 6,    //  its executor died while it ran (seen by the next one on the host)
    NORC_WHY_SPAWN_FAILED   = 7,    //  the machine could not start it
    NORC_WHY_CANCELLED      = 8,    //  ended before it started (cancelled, its job ended)
    NORC_WHY_JOB            = 9,    //  a job's own end, or a node skipped for a failed upstream
    NORC_WHY_MAX            = 9
} norc_why_t;

//  Whether an instance that ended so may be tried again (when its task has
//  retries left): the task's failure (non-zero exit, a signal), its
//  timeout, or the loss of its executor. Never what someone asked for (a
//  kill, an interruption, a cancel) nor what cannot change (a spawn the
//  machine refused is retried by the executor's suspension, not here).
bool
    norc_why_retryable (int status, int why);

//  Name of a reason code ("timeout") or NULL when the code is unknown.
const char *
    norc_why_name (int why);

//  Name of a status ("SUCCESS") or NULL when the code is unknown.
const char *
    norc_status_name (int status);

//  Code of a status name (case-insensitive), or -1.
int
    norc_status_code (const char *name);

//  Name of a request ("STOP") or NULL when unknown.
const char *
    norc_request_name (int request);

//  Code of a request name (case-insensitive), or -1.
int
    norc_request_code (const char *name);

//  LOG-CHUNK offset meaning "append at the end of what the archiver holds,
//  and close": the closing lines of a lost run whose executor kept no copy
//  of its log.
#define NORC_LOG_APPEND UINT64_MAX

//  Time: Norc keeps instants as microseconds since the Unix epoch, UTC.
typedef int64_t norc_us_t;
#define NORC_US_PER_SEC INT64_C(1000000)

//  Wall clock now, in microseconds.
norc_us_t
    norc_now_us (void);

//  Monotonic clock, in microseconds.
norc_us_t
    norc_mono_us (void);

//  At most max events a second (by the monotonic clock): whether one more
//  may happen now. Start from all zeros.
typedef struct {
    norc_us_t second;           //  when the second being counted began
    int count;
} norc_rate_t;

bool
    norc_rate_allow (norc_rate_t *self, int max);

//  Format an instant as ISO-8601 UTC with microseconds into buf
//  ("2026-05-01T12:00:00.123456Z"). Returns buf.
char *
    norc_time_iso (norc_us_t t, char *buf, size_t size);

//  Parse ISO-8601: "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]" followed by "Z", an
//  offset "+HH:MM"/"-HH:MM" or nothing (then UTC). Also "now" and a bare
//  integer of epoch seconds. Returns NORC_OK or NORC_ERROR.
int
    norc_time_parse (const char *text, norc_us_t *result);

//  Limits of an API request (docs/protocol.md): a value of an argument,
//  the number of arguments, and a task's command (a TEXT column).
#define NORC_API_VALUE_MAX  65536
#define NORC_API_ARGS_MAX   1024
#define NORC_COMMAND_MAX    65535

//  Parse a record id as a user writes it: decimal digits, an optional
//  leading '#', from 1 to 2^63-1. Signs, spaces, other characters and 0
//  are refused. Returns NORC_OK or NORC_ERROR.
int
    norc_id_parse (const char *text, uint64_t *id);

//  Parse a size as a user writes it: decimal digits, optionally followed
//  by K, M, G or T (powers of 1024, an optional "iB" or "B" after). No
//  sign, no space, no fraction; at most 2^62. Returns NORC_OK or NORC_ERROR.
int
    norc_size_parse (const char *text, int64_t *size);

//  Where an instance's log lives, relative to the log directory:
//  "instances/<id div 1000>/<id>". Built from the id only, never from a
//  name. Returns buf.
char *
    norc_log_path (uint64_t instance_id, char *buf, size_t size);

#define NORC_UNUSED(x) (void) (x)

#endif

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
#define NORC_UNAUTHENTICATED -6 //  The credential presented is not valid (unknown, expired, revoked)

//  Return a short English text for a NORC_* return code.
const char *
    norc_strerror (int rc);

//  The enumerations (statuses, requests, reasons...): defined once in
//  proto/norc_api.xml. A status is final from 7 on, a failure from 13 on.
#include "norc_enums.h"

#define NORC_STATUS_IS_FINAL(s)    ((s) >= 7)
#define NORC_STATUS_IS_FAILURE(s)  ((s) >= 13)

#define NORC_WHY_MAX NORC_WHY_JOB

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

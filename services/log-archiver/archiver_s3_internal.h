//  archiver_s3_internal.h - what the log-archiver's S3 files share
//  (archiver_s3.c: the setup, the reader and what the loop calls;
//  archiver_s3_upload.c: the uploader), and nothing else includes.
#ifndef ARCHIVER_S3_INTERNAL_H_INCLUDED
#define ARCHIVER_S3_INTERNAL_H_INCLUDED
#include "archiver_s3.h"
#include "norc_http.h"
#include <stdatomic.h>

//  What one thread (uploader or reader) works with
typedef struct {
    norc_aws_session_t *session;
    char *bucket;
    char *prefix;
    char *dir;                  //  log.dir
    uint64_t part_bytes;
    int64_t retention_s;
    int64_t abandon_s;          //  archiver.s3_abandon_s
    char *api;                  //  aggregator.api
    zsock_t *api_sock;          //  the uploader's DEALER to it, made at its first record
    int api_timeout_ms;
    bool term;
    //  The uploader's logs
    zhashx_t *logs;             //  id -> a log owed (archiver_s3_upload.c)
    zlistx_t *ready;            //  logs with work to do, in order
    atomic_int backlog;         //  the uploader's: logs owed (read by the loop for its heartbeat)
} archiver_s3_worker_t;

//  "/BUCKET/KEY" of an instance's log (caller frees)
char *archiver_s3_object_path (archiver_s3_worker_t *w, uint64_t id);

//  log.dir/s3/STATE/ID: a log's mark, pending or done (caller frees)
char *archiver_s3_mark_path (const char *dir, const char *state, uint64_t id);

//  The log's file under log.dir, complete or being written (.part) (caller frees)
char *archiver_s3_log_file (const char *dir, uint64_t id, bool part);

//  A file's size, -1 when it is not there
int64_t archiver_s3_size (const char *path);

//  A header's value among a response's header lines (caller frees; NULL: absent)
char *archiver_s3_header (const char *headers, const char *name);

//  One request with the session's retries (wait, when not NULL, between
//  them); false (logged, but a precondition that failed) when it did not succeed
bool archiver_s3_call (archiver_s3_worker_t *w, norc_aws_wait_fn *wait, void *arg, const char *what,
                       const char *method, const char *path, const norc_aws_pair_t *query, size_t nquery,
                       const norc_aws_pair_t *headers, size_t nheaders, const void *body, size_t len,
                       norc_http_response_t *r, norc_aws_error_t *error);

//  The uploader's thread (arg: its worker)
void archiver_s3_uploader (zsock_t *pipe, void *arg);

#endif

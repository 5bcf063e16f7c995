//  norc_store_archives.h - logs copied to S3: the object's key, its size
//  and its SHA-256, recorded by the log-archiver (through the aggregator's
//  instance.archived) once the object is complete (docs/logs.md).
//  Part of the store (norc_store.h says how every operation behaves).
#ifndef NORC_STORE_ARCHIVES_H_INCLUDED
#define NORC_STORE_ARCHIVES_H_INCLUDED
#include "norc.h"
#include "norc_db.h"

typedef struct {
    uint64_t instance_id;
    char *object_key;
    uint64_t size;
    char sha256 [65];           //  64 lower-case hex digits
    norc_us_t archived_at;      //  set by the store
} norc_archive_t;

void norc_archive_clear (norc_archive_t *self);

//  Record a log's object. Recording the same object again (a retry, an
//  archiver that restarted before it heard the answer) is NORC_OK and
//  changes nothing; a different size or hash for an instance already
//  recorded is NORC_CONFLICT (the record keeps the first: a log is written
//  once). NORC_NOTFOUND when there is no such instance.
int norc_store_archive_put (norc_db_t *db, const norc_archive_t *archive);

//  The object of an instance's log: NORC_NOTFOUND when none was recorded.
int norc_store_archive_get (norc_db_t *db, uint64_t instance_id, norc_archive_t *archive);

#endif

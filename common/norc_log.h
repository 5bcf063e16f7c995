//  norc_log.h - one line per event on stderr:
//  2026-05-01T12:00:00.123456Z scheduler[17] warn: task=42 executor=3: lease expired
#ifndef NORC_LOG_H_INCLUDED
#define NORC_LOG_H_INCLUDED
#include "norc.h"

typedef enum {
    NORC_LOG_DEBUG = 0,
    NORC_LOG_INFO  = 1,
    NORC_LOG_WARN  = 2,
    NORC_LOG_ERROR = 3
} norc_log_level_t;

//  Set the service name shown on each line and the lowest level written.
void norc_log_init (const char *ident, int level);

//  Parse "debug", "info", "warn" or "error"; -1 if unknown.
int  norc_log_level_parse (const char *name);

//  Send lines to this stream instead of stderr (tests). NULL restores stderr.
void norc_log_set_stream (FILE *stream);

//  True when lines of this level are written (check before costly formatting).
bool norc_log_enabled (int level);

void norc_log_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void norc_log_info (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
//  warnx: a warning; warn: the same plus strerror(errno). errno is kept.
void norc_log_warnx (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void norc_log_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void norc_log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
//  Log and exit 1. Only in main.c and during start-up.
void norc_fatal (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));
void norc_fatalx (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2), noreturn));

#endif

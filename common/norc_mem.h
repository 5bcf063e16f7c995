//  norc_mem.h - allocation that aborts on out-of-memory, like czmq's zmalloc.
#ifndef NORC_MEM_H_INCLUDED
#define NORC_MEM_H_INCLUDED
#include "norc.h"
#include <stdarg.h>

void *norc_malloc (size_t size);
void *norc_calloc (size_t count, size_t size);
void *norc_realloc (void *ptr, size_t size);
char *norc_strdup (const char *s);
char *norc_strndup (const char *s, size_t n);
//  printf into a fresh string. Caller owns the result.
char *norc_asprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *norc_vasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

#endif

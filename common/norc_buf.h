//  norc_buf.h - a growable byte buffer with a hard cap (curl's dynbuf idea).
//  Every buffer filled from the network or a file has a cap.
#ifndef NORC_BUF_H_INCLUDED
#define NORC_BUF_H_INCLUDED
#include "norc.h"

typedef struct _norc_buf_t norc_buf_t;

//  Create an empty buffer that refuses to grow past cap bytes.
norc_buf_t *norc_buf_new (size_t cap);
void        norc_buf_destroy (norc_buf_t **self_p);
//  Append bytes; NORC_ERROR (and nothing appended) if the cap would be passed.
int         norc_buf_append (norc_buf_t *self, const void *data, size_t size);
//  printf-append; NORC_ERROR if the cap would be passed.
int         norc_buf_printf (norc_buf_t *self, const char *fmt, ...)
                __attribute__ ((format (printf, 2, 3)));
//  Contents (always followed by a NUL byte not counted in the size).
const uint8_t *norc_buf_data (const norc_buf_t *self);
const char  *norc_buf_str (const norc_buf_t *self);
size_t      norc_buf_size (const norc_buf_t *self);
size_t      norc_buf_cap (const norc_buf_t *self);
void        norc_buf_reset (norc_buf_t *self);
//  Hand over the contents as a NUL-terminated heap block; the buffer is left
//  empty. Caller owns the result.
uint8_t    *norc_buf_take (norc_buf_t *self, size_t *size);

#endif

//  norc_buf.c - capped growable buffer.
#include "norc_buf.h"
#include "norc_mem.h"

struct _norc_buf_t {
    uint8_t *data;      //  heap block, size + 1 bytes used (NUL)
    size_t size;        //  bytes held
    size_t alloc;       //  bytes allocated
    size_t cap;         //  most bytes ever held
};

norc_buf_t *
norc_buf_new (size_t cap)
{
    norc_buf_t *self = (norc_buf_t *) norc_calloc (1, sizeof (norc_buf_t));
    self->cap = cap;
    self->alloc = cap < 256 ? cap + 1 : 256;
    self->data = (uint8_t *) norc_malloc (self->alloc);
    self->data [0] = 0;
    return self;
}

void
norc_buf_destroy (norc_buf_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

int
norc_buf_append (norc_buf_t *self, const void *data, size_t size)
{
    assert (self);
    if (size > self->cap - self->size)
        return NORC_ERROR;
    if (self->size + size + 1 > self->alloc) {
        size_t want = self->alloc * 2;
        while (want < self->size + size + 1)
            want *= 2;
        if (want > self->cap + 1)
            want = self->cap + 1;
        self->data = (uint8_t *) norc_realloc (self->data, want);
        self->alloc = want;
    }
    if (size)
        memcpy (self->data + self->size, data, size);
    self->size += size;
    self->data [self->size] = 0;
    return NORC_OK;
}

int
norc_buf_printf (norc_buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    if (n < 0)
        return NORC_ERROR;
    char *tmp = (char *) norc_malloc ((size_t) n + 1);
    va_start (ap, fmt);
    vsnprintf (tmp, (size_t) n + 1, fmt, ap);
    va_end (ap);
    int rc = norc_buf_append (self, tmp, (size_t) n);
    free (tmp);
    return rc;
}

const uint8_t *norc_buf_data (const norc_buf_t *self) { return self->data; }
const char    *norc_buf_str (const norc_buf_t *self)  { return (const char *) self->data; }
size_t         norc_buf_size (const norc_buf_t *self) { return self->size; }
size_t         norc_buf_cap (const norc_buf_t *self)  { return self->cap; }

void
norc_buf_reset (norc_buf_t *self)
{
    self->size = 0;
    self->data [0] = 0;
}

uint8_t *
norc_buf_take (norc_buf_t *self, size_t *size)
{
    uint8_t *result = self->data;
    if (size)
        *size = self->size;
    self->alloc = self->cap < 256 ? self->cap + 1 : 256;
    self->data = (uint8_t *) norc_malloc (self->alloc);
    self->data [0] = 0;
    self->size = 0;
    return result;
}

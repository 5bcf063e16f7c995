//  norc_pack.h - the msgpack primitives the generated codec uses: a writer on
//  top of msgpack-c's packer, and a bounded cursor reader of our own.
#ifndef NORC_PACK_H_INCLUDED
#define NORC_PACK_H_INCLUDED
#include "norc.h"
#include "norc_buf.h"

//  Containers carried in messages.
typedef struct {
    size_t count;       //  entries in use
    char **keys;        //  heap strings, count of them
    char **values;      //  heap strings, count of them
} norc_strmap_t;

typedef struct {
    size_t count;
    uint64_t *items;
} norc_u64list_t;

typedef struct {
    size_t count;
    norc_strmap_t *rows;
} norc_rows_t;

typedef struct {
    size_t size;
    uint8_t *data;      //  heap block or NULL
} norc_bin_t;

//  Container helpers (values are copied).
void        norc_strmap_set (norc_strmap_t *self, const char *key, const char *value);
const char *norc_strmap_get (const norc_strmap_t *self, const char *key);
void        norc_strmap_clear (norc_strmap_t *self);
bool        norc_strmap_equal (const norc_strmap_t *a, const norc_strmap_t *b);
void        norc_u64list_append (norc_u64list_t *self, uint64_t value);
void        norc_u64list_clear (norc_u64list_t *self);
//  Append an empty row and return it for filling.
norc_strmap_t *norc_rows_add (norc_rows_t *self);
void        norc_rows_clear (norc_rows_t *self);
bool        norc_rows_equal (const norc_rows_t *a, const norc_rows_t *b);
void        norc_bin_set (norc_bin_t *self, const void *data, size_t size);
void        norc_bin_clear (norc_bin_t *self);

//  Writer: appends msgpack to a capped norc_buf_t. Every call returns
//  NORC_OK or NORC_ERROR (the buffer's cap was reached).
typedef struct _norc_writer_t norc_writer_t;
norc_writer_t *norc_writer_new (norc_buf_t *out);
void norc_writer_destroy (norc_writer_t **self_p);
int  norc_writer_map (norc_writer_t *self, uint32_t count);
int  norc_writer_array (norc_writer_t *self, uint32_t count);
int  norc_writer_str (norc_writer_t *self, const char *s);
int  norc_writer_bin (norc_writer_t *self, const void *data, size_t size);
int  norc_writer_u64 (norc_writer_t *self, uint64_t value);
int  norc_writer_i64 (norc_writer_t *self, int64_t value);
int  norc_writer_bool (norc_writer_t *self, bool value);
int  norc_writer_strmap (norc_writer_t *self, const norc_strmap_t *map);
int  norc_writer_u64list (norc_writer_t *self, const norc_u64list_t *list);
int  norc_writer_rows (norc_writer_t *self, const norc_rows_t *rows);

//  Reader: every function checks the bytes left before reading and returns
//  NORC_OK or NORC_ERROR (truncated, wrong type, over a cap), leaving the
//  reason in cursor->error. Nothing is allocated from a declared length
//  before that many bytes are known to be present.
typedef struct {
    const uint8_t *pos;     //  next byte
    const uint8_t *end;     //  one past the last byte
    const char *error;      //  static text of the first error
} norc_cursor_t;

#define NORC_PACK_MAX_DEPTH 16

void norc_cursor_init (norc_cursor_t *self, const void *data, size_t size);
//  True when the next value is nil (then it is consumed).
bool norc_cursor_nil (norc_cursor_t *self);
int  norc_cursor_map (norc_cursor_t *self, uint32_t *count);
int  norc_cursor_array (norc_cursor_t *self, uint32_t *count);
//  A string; *str points into the frame (not NUL-terminated).
int  norc_cursor_str_ref (norc_cursor_t *self, const char **str, uint32_t *len);
//  A string copied to a fresh heap block. Caller owns *result.
int  norc_cursor_str (norc_cursor_t *self, size_t max, char **result);
int  norc_cursor_bin (norc_cursor_t *self, size_t max, norc_bin_t *result);
int  norc_cursor_u64 (norc_cursor_t *self, uint64_t *value);
int  norc_cursor_i64 (norc_cursor_t *self, int64_t *value);
int  norc_cursor_i32 (norc_cursor_t *self, int32_t *value);
int  norc_cursor_bool (norc_cursor_t *self, bool *value);
int  norc_cursor_strmap (norc_cursor_t *self, size_t max, norc_strmap_t *result);
int  norc_cursor_u64list (norc_cursor_t *self, size_t max, norc_u64list_t *result);
int  norc_cursor_rows (norc_cursor_t *self, size_t max, norc_rows_t *result);
//  Skip one value of any type, nested at most NORC_PACK_MAX_DEPTH deep.
int  norc_cursor_skip (norc_cursor_t *self);

#endif

//  norc_pack.c - msgpack primitives.
//
//  Writing goes through msgpack-c's packer, which picks the shortest encoding
//  of every value; its output lands in a capped norc_buf_t.
//
//  Reading is our own small cursor instead of msgpack-c's unpacker. A frame
//  comes from the network, so every declared length (string, bin, array,
//  map) is checked against the bytes actually left before anything is
//  allocated, every field has its own cap, and nesting is limited. The
//  unpacker builds a whole object tree first; the cursor decodes straight
//  into the message struct and rejects a hostile frame at its first bad
//  byte.
#include "norc_pack.h"
#include "norc_mem.h"
#include <msgpack.h>

//  --------------------------------------------------------------------------
//  Containers

void
norc_strmap_set (norc_strmap_t *self, const char *key, const char *value)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->keys [i], key) == 0) {
            free (self->values [i]);
            self->values [i] = norc_strdup (value);
            return;
        }
    self->keys = (char **) norc_realloc (self->keys, (self->count + 1) * sizeof (char *));
    self->values = (char **) norc_realloc (self->values, (self->count + 1) * sizeof (char *));
    self->keys [self->count] = norc_strdup (key);
    self->values [self->count] = norc_strdup (value);
    self->count++;
}

const char *
norc_strmap_get (const norc_strmap_t *self, const char *key)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->keys [i], key) == 0)
            return self->values [i];
    return NULL;
}

void
norc_strmap_clear (norc_strmap_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free (self->keys [i]);
        free (self->values [i]);
    }
    free (self->keys);
    free (self->values);
    memset (self, 0, sizeof (*self));
}

bool
norc_strmap_equal (const norc_strmap_t *a, const norc_strmap_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        const char *other = norc_strmap_get (b, a->keys [i]);
        if (!other || strcmp (other, a->values [i]) != 0)
            return false;
    }
    return true;
}

void
norc_u64list_append (norc_u64list_t *self, uint64_t value)
{
    self->items = (uint64_t *) norc_realloc (self->items, (self->count + 1) * sizeof (uint64_t));
    self->items [self->count++] = value;
}

void
norc_u64list_clear (norc_u64list_t *self)
{
    free (self->items);
    memset (self, 0, sizeof (*self));
}

norc_strmap_t *
norc_rows_add (norc_rows_t *self)
{
    self->rows = (norc_strmap_t *) norc_realloc (self->rows, (self->count + 1) * sizeof (norc_strmap_t));
    norc_strmap_t *row = &self->rows [self->count++];
    memset (row, 0, sizeof (*row));
    return row;
}

void
norc_rows_clear (norc_rows_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        norc_strmap_clear (&self->rows [i]);
    free (self->rows);
    memset (self, 0, sizeof (*self));
}

bool
norc_rows_equal (const norc_rows_t *a, const norc_rows_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!norc_strmap_equal (&a->rows [i], &b->rows [i]))
            return false;
    return true;
}

void
norc_bin_set (norc_bin_t *self, const void *data, size_t size)
{
    free (self->data);
    self->data = size ? (uint8_t *) norc_malloc (size) : NULL;
    if (size)
        memcpy (self->data, data, size);
    self->size = size;
}

void
norc_bin_clear (norc_bin_t *self)
{
    free (self->data);
    self->data = NULL;
    self->size = 0;
}

//  --------------------------------------------------------------------------
//  Writer

struct _norc_writer_t {
    msgpack_packer packer;      //  msgpack-c packer writing into out
    norc_buf_t *out;            //  capped output, not owned
    bool failed;                //  the cap was reached
};

static int
s_write (void *data, const char *buf, size_t len)
{
    norc_writer_t *self = (norc_writer_t *) data;
    if (self->failed || norc_buf_append (self->out, buf, len) != NORC_OK) {
        self->failed = true;
        return -1;
    }
    return 0;
}

norc_writer_t *
norc_writer_new (norc_buf_t *out)
{
    norc_writer_t *self = (norc_writer_t *) norc_calloc (1, sizeof (norc_writer_t));
    self->out = out;
    msgpack_packer_init (&self->packer, self, s_write);
    return self;
}

void
norc_writer_destroy (norc_writer_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

#define S_RESULT(self, call) (((call) == 0 && !(self)->failed) ? NORC_OK : NORC_ERROR)

int norc_writer_map (norc_writer_t *self, uint32_t count)
{ return S_RESULT (self, msgpack_pack_map (&self->packer, count)); }

int norc_writer_array (norc_writer_t *self, uint32_t count)
{ return S_RESULT (self, msgpack_pack_array (&self->packer, count)); }

int
norc_writer_str (norc_writer_t *self, const char *s)
{
    size_t len = s ? strlen (s) : 0;
    if (len > UINT32_MAX || msgpack_pack_str (&self->packer, len) != 0)
        return NORC_ERROR;
    return S_RESULT (self, msgpack_pack_str_body (&self->packer, s ? s : "", len));
}

int
norc_writer_bin (norc_writer_t *self, const void *data, size_t size)
{
    if (size > UINT32_MAX || msgpack_pack_bin (&self->packer, size) != 0)
        return NORC_ERROR;
    return S_RESULT (self, msgpack_pack_bin_body (&self->packer, data, size));
}

int norc_writer_u64 (norc_writer_t *self, uint64_t value)
{ return S_RESULT (self, msgpack_pack_uint64 (&self->packer, value)); }

int norc_writer_i64 (norc_writer_t *self, int64_t value)
{ return S_RESULT (self, msgpack_pack_int64 (&self->packer, value)); }

int norc_writer_bool (norc_writer_t *self, bool value)
{ return S_RESULT (self, value ? msgpack_pack_true (&self->packer)
                                : msgpack_pack_false (&self->packer)); }

int
norc_writer_strmap (norc_writer_t *self, const norc_strmap_t *map)
{
    if (norc_writer_map (self, (uint32_t) map->count))
        return NORC_ERROR;
    for (size_t i = 0; i < map->count; i++)
        if (norc_writer_str (self, map->keys [i])
        ||  norc_writer_str (self, map->values [i]))
            return NORC_ERROR;
    return NORC_OK;
}

int
norc_writer_u64list (norc_writer_t *self, const norc_u64list_t *list)
{
    if (norc_writer_array (self, (uint32_t) list->count))
        return NORC_ERROR;
    for (size_t i = 0; i < list->count; i++)
        if (norc_writer_u64 (self, list->items [i]))
            return NORC_ERROR;
    return NORC_OK;
}

int
norc_writer_rows (norc_writer_t *self, const norc_rows_t *rows)
{
    if (norc_writer_array (self, (uint32_t) rows->count))
        return NORC_ERROR;
    for (size_t i = 0; i < rows->count; i++)
        if (norc_writer_strmap (self, &rows->rows [i]))
            return NORC_ERROR;
    return NORC_OK;
}

//  --------------------------------------------------------------------------
//  Reader

void
norc_cursor_init (norc_cursor_t *self, const void *data, size_t size)
{
    self->pos = (const uint8_t *) data;
    self->end = self->pos + size;
    self->error = NULL;
}

static int
s_fail (norc_cursor_t *self, const char *why)
{
    if (!self->error)
        self->error = why;
    return NORC_ERROR;
}

static size_t
s_left (norc_cursor_t *self)
{
    return (size_t) (self->end - self->pos);
}

//  Read an n-byte big-endian unsigned integer.
static int
s_be (norc_cursor_t *self, int n, uint64_t *value)
{
    if (s_left (self) < (size_t) n)
        return s_fail (self, "truncated");
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | self->pos [i];
    self->pos += n;
    *value = v;
    return NORC_OK;
}

bool
norc_cursor_nil (norc_cursor_t *self)
{
    if (s_left (self) >= 1 && self->pos [0] == 0xc0) {
        self->pos++;
        return true;
    }
    return false;
}

int
norc_cursor_map (norc_cursor_t *self, uint32_t *count)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos++;
    uint64_t n;
    if ((b & 0xf0) == 0x80)
        n = b & 0x0f;
    else
    if (b == 0xde) {
        if (s_be (self, 2, &n))
            return NORC_ERROR;
    }
    else
    if (b == 0xdf) {
        if (s_be (self, 4, &n))
            return NORC_ERROR;
    }
    else
        return s_fail (self, "expected a map");
    //  Each entry takes two bytes at least
    if (n > s_left (self) / 2)
        return s_fail (self, "map longer than the frame");
    *count = (uint32_t) n;
    return NORC_OK;
}

int
norc_cursor_array (norc_cursor_t *self, uint32_t *count)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos++;
    uint64_t n;
    if ((b & 0xf0) == 0x90)
        n = b & 0x0f;
    else
    if (b == 0xdc) {
        if (s_be (self, 2, &n))
            return NORC_ERROR;
    }
    else
    if (b == 0xdd) {
        if (s_be (self, 4, &n))
            return NORC_ERROR;
    }
    else
        return s_fail (self, "expected an array");
    if (n > s_left (self))
        return s_fail (self, "array longer than the frame");
    *count = (uint32_t) n;
    return NORC_OK;
}

int
norc_cursor_str_ref (norc_cursor_t *self, const char **str, uint32_t *len)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos++;
    uint64_t n;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else
    if (b == 0xd9 || b == 0xda || b == 0xdb) {
        if (s_be (self, b == 0xd9 ? 1 : b == 0xda ? 2 : 4, &n))
            return NORC_ERROR;
    }
    else
        return s_fail (self, "expected a string");
    if (n > s_left (self))
        return s_fail (self, "string longer than the frame");
    *str = (const char *) self->pos;
    *len = (uint32_t) n;
    self->pos += n;
    return NORC_OK;
}

int
norc_cursor_str (norc_cursor_t *self, size_t max, char **result)
{
    const char *s;
    uint32_t len;
    if (norc_cursor_str_ref (self, &s, &len))
        return NORC_ERROR;
    if (len > max)
        return s_fail (self, "string over its size limit");
    if (memchr (s, 0, len))
        return s_fail (self, "string holds a NUL byte");
    free (*result);
    *result = norc_strndup (s, len);
    return NORC_OK;
}

int
norc_cursor_bin (norc_cursor_t *self, size_t max, norc_bin_t *result)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos++;
    uint64_t n;
    if (b == 0xc4 || b == 0xc5 || b == 0xc6) {
        if (s_be (self, b == 0xc4 ? 1 : b == 0xc5 ? 2 : 4, &n))
            return NORC_ERROR;
    }
    else
        return s_fail (self, "expected bin");
    if (n > s_left (self))
        return s_fail (self, "bin longer than the frame");
    if (n > max)
        return s_fail (self, "bin over its size limit");
    norc_bin_set (result, self->pos, (size_t) n);
    self->pos += n;
    return NORC_OK;
}

//  Read any integer as sign + magnitude.
static int
s_integer (norc_cursor_t *self, bool *negative, uint64_t *magnitude)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos++;
    uint64_t v;
    *negative = false;
    if (b <= 0x7f) {
        *magnitude = b;
        return NORC_OK;
    }
    if (b >= 0xe0) {
        *negative = true;
        *magnitude = (uint64_t) (256 - b);
        return NORC_OK;
    }
    switch (b) {
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            if (s_be (self, 1 << (b - 0xcc), &v))
                return NORC_ERROR;
            *magnitude = v;
            return NORC_OK;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            int n = 1 << (b - 0xd0);
            if (s_be (self, n, &v))
                return NORC_ERROR;
            //  Sign-extend an n-byte two's complement value
            int64_t sv;
            if (n == 8)
                memcpy (&sv, &v, sizeof (sv));
            else {
                uint64_t sign = UINT64_C (1) << (n * 8 - 1);
                sv = (v & sign) ? (int64_t) (v - (sign << 1)) : (int64_t) v;
            }
            if (sv < 0) {
                *negative = true;
                *magnitude = (uint64_t) (-(sv + 1)) + 1;
            }
            else
                *magnitude = (uint64_t) sv;
            return NORC_OK;
        }
        default:
            return s_fail (self, "expected an integer");
    }
}

int
norc_cursor_u64 (norc_cursor_t *self, uint64_t *value)
{
    bool negative;
    uint64_t magnitude;
    if (s_integer (self, &negative, &magnitude))
        return NORC_ERROR;
    if (negative)
        return s_fail (self, "negative value for an unsigned field");
    *value = magnitude;
    return NORC_OK;
}

int
norc_cursor_i64 (norc_cursor_t *self, int64_t *value)
{
    bool negative;
    uint64_t magnitude;
    if (s_integer (self, &negative, &magnitude))
        return NORC_ERROR;
    if (!negative && magnitude > (uint64_t) INT64_MAX)
        return s_fail (self, "integer out of range");
    if (negative && magnitude > (uint64_t) INT64_MAX + 1)
        return s_fail (self, "integer out of range");
    if (negative)
        *value = magnitude == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) magnitude;
    else
        *value = (int64_t) magnitude;
    return NORC_OK;
}

int
norc_cursor_i32 (norc_cursor_t *self, int32_t *value)
{
    int64_t v;
    if (norc_cursor_i64 (self, &v))
        return NORC_ERROR;
    if (v < INT32_MIN || v > INT32_MAX)
        return s_fail (self, "integer out of range");
    *value = (int32_t) v;
    return NORC_OK;
}

int
norc_cursor_bool (norc_cursor_t *self, bool *value)
{
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos;
    if (b != 0xc2 && b != 0xc3)
        return s_fail (self, "expected a boolean");
    self->pos++;
    *value = b == 0xc3;
    return NORC_OK;
}

int
norc_cursor_strmap (norc_cursor_t *self, size_t max, norc_strmap_t *result)
{
    uint32_t n;
    if (norc_cursor_map (self, &n))
        return NORC_ERROR;
    if (n > max)
        return s_fail (self, "map over its entry limit");
    norc_strmap_clear (result);
    for (uint32_t i = 0; i < n; i++) {
        char *key = NULL, *value = NULL;
        if (norc_cursor_str (self, 65536, &key)
        ||  norc_cursor_str (self, 65536, &value)) {
            free (key);
            free (value);
            return NORC_ERROR;
        }
        norc_strmap_set (result, key, value);
        free (key);
        free (value);
    }
    return NORC_OK;
}

int
norc_cursor_u64list (norc_cursor_t *self, size_t max, norc_u64list_t *result)
{
    uint32_t n;
    if (norc_cursor_array (self, &n))
        return NORC_ERROR;
    if (n > max)
        return s_fail (self, "array over its entry limit");
    norc_u64list_clear (result);
    if (n)
        result->items = (uint64_t *) norc_malloc (n * sizeof (uint64_t));
    for (uint32_t i = 0; i < n; i++) {
        if (norc_cursor_u64 (self, &result->items [i]))
            return NORC_ERROR;
        result->count++;
    }
    return NORC_OK;
}

int
norc_cursor_rows (norc_cursor_t *self, size_t max, norc_rows_t *result)
{
    uint32_t n;
    if (norc_cursor_array (self, &n))
        return NORC_ERROR;
    if (n > max)
        return s_fail (self, "array over its entry limit");
    norc_rows_clear (result);
    for (uint32_t i = 0; i < n; i++) {
        norc_strmap_t *row = norc_rows_add (result);
        if (norc_cursor_strmap (self, 1024, row))
            return NORC_ERROR;
    }
    return NORC_OK;
}

static int
s_skip (norc_cursor_t *self, int depth)
{
    if (depth > NORC_PACK_MAX_DEPTH)
        return s_fail (self, "nested too deeply");
    if (s_left (self) < 1)
        return s_fail (self, "truncated");
    uint8_t b = *self->pos;
    uint64_t n;
    const char *s;
    uint32_t len, count;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        self->pos++;
        return NORC_OK;
    }
    if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb)
        return norc_cursor_str_ref (self, &s, &len);
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
        if (norc_cursor_map (self, &count))
            return NORC_ERROR;
        for (uint64_t i = 0; i < (uint64_t) count * 2; i++)
            if (s_skip (self, depth + 1))
                return NORC_ERROR;
        return NORC_OK;
    }
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
        if (norc_cursor_array (self, &count))
            return NORC_ERROR;
        for (uint32_t i = 0; i < count; i++)
            if (s_skip (self, depth + 1))
                return NORC_ERROR;
        return NORC_OK;
    }
    self->pos++;
    int width = 0;
    switch (b) {
        case 0xcc: case 0xd0: case 0xd4: width = 1; break;
        case 0xcd: case 0xd1: width = 2; break;
        case 0xca: case 0xce: case 0xd2: width = 4; break;
        case 0xcb: case 0xcf: case 0xd3: width = 8; break;
        case 0xd5: width = 2; break;
        case 0xd6: width = 4; break;
        case 0xd7: width = 8; break;
        case 0xd8: width = 16; break;
        case 0xc4: case 0xc5: case 0xc6:
        case 0xc7: case 0xc8: case 0xc9: {
            int lw = (b == 0xc4 || b == 0xc7) ? 1 : (b == 0xc5 || b == 0xc8) ? 2 : 4;
            if (s_be (self, lw, &n))
                return NORC_ERROR;
            //  ext types carry one type byte before the data
            if (b >= 0xc7)
                n += 1;
            if (n > s_left (self))
                return s_fail (self, "value longer than the frame");
            self->pos += n;
            return NORC_OK;
        }
        default:
            return s_fail (self, "invalid msgpack byte");
    }
    //  fixext types (0xd4..0xd8) also carry a type byte
    if (b >= 0xd4 && b <= 0xd8)
        width += 1;
    if ((size_t) width > s_left (self))
        return s_fail (self, "truncated");
    self->pos += width;
    return NORC_OK;
}

int
norc_cursor_skip (norc_cursor_t *self)
{
    return s_skip (self, 0);
}

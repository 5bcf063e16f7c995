//  norc_api_json.c - see norc_api_json.h.
#include "norc_api_json.h"
#include "norc_msg.h"
#include "norc_mem.h"
#include <errno.h>
#include <inttypes.h>

static bool
s_integer (const char *value, long long *result)
{
    char *end;
    errno = 0;
    long long v = strtoll (value, &end, 10);
    if (errno || end == value || *end)
        return false;
    *result = v;
    return true;
}

static bool
s_bool (const char *value, bool *result)
{
    if (strcmp (value, "1") == 0 || strcmp (value, "true") == 0)
        *result = true;
    else
    if (strcmp (value, "0") == 0 || strcmp (value, "false") == 0)
        *result = false;
    else
        return false;
    return true;
}

//  Whether a non-empty value reads as type (an enum's name is checked by
//  the caller, which knows the enumeration)
static bool
s_reads_as (norc_api_type_t type, const char *value)
{
    long long n = 0;
    bool b = false;
    norc_us_t t = 0;
    switch (type) {
        case NORC_API_INT:      return s_integer (value, &n);
        case NORC_API_ID:       return s_integer (value, &n) && n >= 0;
        case NORC_API_STATUS:   return s_integer (value, &n) && norc_status_name ((int) n);
        case NORC_API_BOOL:     return s_bool (value, &b);
        case NORC_API_TIME:     return norc_time_parse (value, &t) == NORC_OK;
        default:                return true;
    }
}

json_t *
norc_api_value_json (norc_api_type_t type, const char *value)
{
    if (!value)
        value = "";
    if (type != NORC_API_STR && !*value)
        return json_null ();
    if (!s_reads_as (type, value))
        return json_string (value);     //  not as declared: kept, as text
    long long n = 0;
    bool b = false;
    norc_us_t t = 0;
    char iso [40];
    switch (type) {
        case NORC_API_INT:
        case NORC_API_ID:
        case NORC_API_STATUS:
            s_integer (value, &n);
            return json_integer (n);
        case NORC_API_BOOL:
            s_bool (value, &b);
            return json_boolean (b);
        case NORC_API_TIME:
            norc_time_parse (value, &t);
            return json_string (norc_time_iso (t, iso, sizeof iso));
        default:
            return json_string (value);
    }
}

json_t *
norc_api_rows_json (const norc_api_op_t *op, const norc_rows_t *rows)
{
    json_t *array = json_array ();
    for (size_t r = 0; r < rows->count; r++) {
        const norc_strmap_t *row = &rows->rows [r];
        json_t *object = json_object ();
        for (size_t k = 0; k < row->count; k++) {
            const char *key = row->keys [k];
            const norc_api_col_t *col = op ? norc_api_col (op, key) : NULL;
            if (col && col->prefix) {
                json_t *group = json_object_get (object, col->name);
                if (!json_is_object (group)) {
                    group = json_object ();
                    json_object_set_new (object, col->name, group);
                }
                json_object_set_new (group, key + strlen (col->name) + 1, json_string (row->values [k]));
                continue;
            }
            norc_api_type_t type = col ? col->type : NORC_API_STR;
            json_object_set_new (object, key, norc_api_value_json (type, row->values [k]));
            if (type == NORC_API_STATUS) {
                char name [80];
                snprintf (name, sizeof name, "%s_name", key);
                const char *text = *row->values [k] ? norc_status_name (atoi (row->values [k])) : NULL;
                json_object_set_new (object, name, text ? json_string (text) : json_null ());
            }
        }
        json_array_append_new (array, object);
    }
    return array;
}

bool
norc_api_row_check (const norc_api_op_t *op, const norc_strmap_t *row, char *why, size_t whysize)
{
    for (size_t k = 0; k < row->count; k++) {
        const char *key = row->keys [k];
        const char *value = row->values [k] ? row->values [k] : "";
        const norc_api_col_t *col = norc_api_col (op, key);
        if (!col) {
            snprintf (why, whysize, "%s: column \"%s\" is not in the schema", op->name, key);
            return false;
        }
        bool ok = col->type == NORC_API_STR || !*value;
        if (!ok && col->type == NORC_API_ENUM)
            ok = norc_enum_code (col->values, value) >= 0;
        else
        if (!ok)
            ok = s_reads_as (col->type, value);
        if (!ok) {
            snprintf (why, whysize, "%s: column \"%s\" holds \"%.80s\", not a%s %s", op->name, key, value,
                      col->type == NORC_API_INT || col->type == NORC_API_ID ? "n" : "",
                      col->type == NORC_API_ENUM ? col->values->name
                    : col->type == NORC_API_INT ? "integer" : col->type == NORC_API_ID ? "id"
                    : col->type == NORC_API_BOOL ? "boolean" : col->type == NORC_API_TIME ? "time" : "status");
            return false;
        }
    }
    return true;
}

//  One JSON value as an argument of type: its text (caller frees), or
//  NULL when the value is not of that type
static char *
s_arg_text (norc_api_type_t type, const json_t *value)
{
    if (json_is_string (value)) {
        const char *text = json_string_value (value);
        long long n = 0;
        bool b = false;
        if ((type == NORC_API_INT && !s_integer (text, &n))
        ||  (type == NORC_API_ID && !s_integer (*text == '#' ? text + 1 : text, &n))
        ||  (type == NORC_API_BOOL && !s_bool (text, &b))
        ||  strlen (text) > NORC_API_VALUE_MAX)
            return NULL;
        return norc_strdup (text);
    }
    if (json_is_integer (value) && (type == NORC_API_INT || type == NORC_API_ID))
        return norc_asprintf ("%" JSON_INTEGER_FORMAT, json_integer_value (value));
    if (json_is_boolean (value) && type == NORC_API_BOOL)
        return norc_strdup (json_is_true (value) ? "1" : "0");
    return NULL;
}

const char *
norc_api_type_name (norc_api_type_t type)
{
    return type == NORC_API_INT ? "an integer" : type == NORC_API_ID ? "an id (a number from 1)"
         : type == NORC_API_BOOL ? "true or false" : type == NORC_API_TIME ? "a time (a string)" : "a string";
}

int
norc_api_args_from_json (const norc_api_op_t *op, const json_t *object, norc_strmap_t *args,
                         char *why, size_t whysize)
{
    if (!json_is_object (object)) {
        snprintf (why, whysize, "the body must be a JSON object of %s's arguments", op->name);
        return NORC_ERROR;
    }
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) object, key, value) {
        if (json_is_null (value))
            continue;
        const norc_api_arg_t *arg = NULL;
        for (const norc_api_arg_t *a = op->args; a->name && !arg; a++)
            if (strcmp (a->name, key) == 0)
                arg = a;
        if (!arg) {
            snprintf (why, whysize, "%s takes no argument \"%.64s\"", op->name, key);
            return NORC_ERROR;
        }
        if (arg->prefix) {
            if (!json_is_object (value)) {
                snprintf (why, whysize, "\"%s\" must be an object of strings", key);
                return NORC_ERROR;
            }
            const char *sub;
            json_t *item;
            json_object_foreach (value, sub, item) {
                char *text = *sub ? s_arg_text (NORC_API_STR, item) : NULL;
                if (!text) {
                    snprintf (why, whysize, "\"%s.%.64s\" must be a string", key, sub);
                    return NORC_ERROR;
                }
                char *full = norc_asprintf ("%s.%s", key, sub);
                norc_strmap_set (args, full, text);
                free (full);
                free (text);
            }
            continue;
        }
        char *text = s_arg_text (arg->type, value);
        if (!text) {
            snprintf (why, whysize, "\"%s\" must be %s", key, norc_api_type_name (arg->type));
            return NORC_ERROR;
        }
        norc_strmap_set (args, key, text);
        free (text);
    }
    return NORC_OK;
}

bool
norc_api_arg_reads (norc_api_type_t type, const char *text)
{
    //  An id argument is a record's (from 1), "#" allowed; the rest as a column
    long long n = 0;
    if (type == NORC_API_ID)
        return s_integer (*text == '#' ? text + 1 : text, &n) && n >= 1;
    return s_reads_as (type, text);
}

//  norc_api_json.h - the control API's values as JSON, typed by the
//  schema (proto/norc_api.xml): a reply's rows for norcctl --json and the
//  HTTP API, a JSON request body back into arguments, and the check that a
//  reply holds only the columns and values its operation declares.
//
//  On the wire every value is a string. In JSON: int and id are numbers,
//  bool true/false, time an RFC 3339 UTC string with microseconds, status
//  a number with its name beside it (KEY_name), an enumeration's value its
//  name; an empty value of any type but str is null. A prefix column
//  (env.KEY) is an object ("env": {"KEY": "value"}). A column a reply
//  holds that its operation does not declare is a string.
#ifndef NORC_API_JSON_H_INCLUDED
#define NORC_API_JSON_H_INCLUDED
#include "norc_api.h"
#include "norc_pack.h"
#include <jansson.h>

//  One value of a column, as JSON (a new reference).
json_t *norc_api_value_json (norc_api_type_t type, const char *value);

//  A reply's rows as a JSON array of objects (a new reference). op may be
//  NULL: every value a string then.
json_t *norc_api_rows_json (const norc_api_op_t *op, const norc_rows_t *rows);

//  Whether every column of row is one op declares and every value reads
//  as its type says; when not, why (one line) in why.
bool norc_api_row_check (const norc_api_op_t *op, const norc_strmap_t *row, char *why, size_t whysize);

//  Whether text reads as an argument of type (an int, "1"/"true"/"0"/
//  "false" for a bool, an id from 1 with "#" allowed, a time).
bool norc_api_arg_reads (norc_api_type_t type, const char *text);

//  "an integer", "true or false"... for an error message.
const char *norc_api_type_name (norc_api_type_t type);

//  A JSON object's members as op's arguments (added to args): a string,
//  a number, true/false or null (left out) for each argument; an object
//  for a prefix argument ({"env": {"KEY": "value"}}). NORC_OK, or
//  NORC_ERROR with the reason in why: a member op does not take, or a
//  value of the wrong type.
int norc_api_args_from_json (const norc_api_op_t *op, const json_t *object, norc_strmap_t *args,
                             char *why, size_t whysize);

#endif

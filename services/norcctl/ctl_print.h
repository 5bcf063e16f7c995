//  ctl_print.h - norcctl output: aligned tables for people, JSON for
//  scripts.
#ifndef CTL_PRINT_H_INCLUDED
#define CTL_PRINT_H_INCLUDED
#include "norc.h"
#include "norc_pack.h"

typedef struct {
    const char *key;            //  row key
    const char *header;         //  column title
} ctl_column_t;

//  Print rows of op's reply as a table with these columns (NULL-key
//  terminated); "None found." when empty. A column the schema types as a
//  status shows the status's name.
void ctl_print_table (FILE *out, const char *op, const norc_rows_t *rows, const ctl_column_t *columns);

//  Print the rows of op's reply as a JSON array of objects, each value
//  typed by its column in the schema (proto/norc_api_json.h).
void ctl_print_json (FILE *out, const char *op, const norc_rows_t *rows);

//  Print a string as a JSON string literal.
void ctl_print_json_string (FILE *out, const char *s);

#endif

//  ctl_print.c - tables and JSON. Tables follow the original reporter:
//  first column left-aligned, the others right-aligned.
#include "ctl_print.h"
#include "norc_api_json.h"
#include "norc_api.h"
#include "norc_mem.h"

static const char *
s_cell (const norc_api_op_t *op, const norc_strmap_t *row, const char *key, char *buf, size_t size)
{
    const char *value = norc_strmap_get (row, key);
    if (!value || !*value)
        return "-";
    const norc_api_col_t *col = op ? norc_api_col (op, key) : NULL;
    if (col && col->type == NORC_API_STATUS) {
        const char *name = norc_status_name (atoi (value));
        snprintf (buf, size, "%s", name ? name : value);
        return buf;
    }
    //  Times: "2026-05-01T12:00:00.123456Z" -> "2026-05-01 12:00:00"
    if (strlen (value) == 27 && value [10] == 'T' && value [26] == 'Z') {
        snprintf (buf, size, "%.10s %.8s", value, value + 11);
        return buf;
    }
    return value;
}

void
ctl_print_table (FILE *out, const char *op_name, const norc_rows_t *rows, const ctl_column_t *columns)
{
    const norc_api_op_t *op = norc_api_op (op_name);
    if (rows->count == 0) {
        fprintf (out, "None found.\n");
        return;
    }
    size_t ncols = 0;
    while (columns [ncols].key)
        ncols++;
    size_t *width = (size_t *) norc_calloc (ncols, sizeof (size_t));
    char buf [128];
    for (size_t c = 0; c < ncols; c++) {
        width [c] = strlen (columns [c].header);
        for (size_t r = 0; r < rows->count; r++) {
            size_t w = strlen (s_cell (op, &rows->rows [r], columns [c].key, buf, sizeof buf));
            if (w > width [c])
                width [c] = w;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        fprintf (out, c == 0 ? "%-*s" : "  %*s", (int) width [c], columns [c].header);
    fprintf (out, "\n");
    for (size_t r = 0; r < rows->count; r++) {
        for (size_t c = 0; c < ncols; c++)
            fprintf (out, c == 0 ? "%-*s" : "  %*s", (int) width [c],
                     s_cell (op, &rows->rows [r], columns [c].key, buf, sizeof buf));
        fprintf (out, "\n");
    }
    free (width);
}

void
ctl_print_json_string (FILE *out, const char *s)
{
    fputc ('"', out);
    for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (out, "\\%c", *p);
        else
        if (*p == '\n')
            fputs ("\\n", out);
        else
        if (*p == '\t')
            fputs ("\\t", out);
        else
        if (*p < 0x20)
            fprintf (out, "\\u%04x", *p);
        else
            fputc (*p, out);
    }
    fputc ('"', out);
}

void
ctl_print_json (FILE *out, const char *op, const norc_rows_t *rows)
{
    json_t *array = norc_api_rows_json (norc_api_op (op), rows);
    char *text = json_dumps (array, JSON_PRESERVE_ORDER);
    fprintf (out, "%s\n", text ? text : "[]");
    free (text);
    json_decref (array);
}

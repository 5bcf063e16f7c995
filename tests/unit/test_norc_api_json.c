//  The API's values as JSON, typed by the schema, and back: what norcctl
//  --json prints and what the HTTP API reads.
#include <criterion/criterion.h>
#include "norc_api_json.h"
#include "norc_mem.h"

static char *
s_dump (json_t *value)
{
    char *text = json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (value);
    return text;
}

Test (api_json, each_type_reads_as_the_schema_says_and_empty_is_null)
{
    static const struct { norc_api_type_t type; const char *value; const char *json; } cases [] = {
        { NORC_API_STR, "2024", "\"2024\"" },     //  a task named 2024 stays a name
        { NORC_API_STR, "", "\"\"" },
        { NORC_API_INT, "-3", "-3" },
        { NORC_API_INT, "", "null" },
        { NORC_API_ID, "12", "12" },
        { NORC_API_BOOL, "1", "true" },
        { NORC_API_BOOL, "0", "false" },
        { NORC_API_TIME, "2026-05-01T12:00:00Z", "\"2026-05-01T12:00:00.000000Z\"" },
        { NORC_API_TIME, "2026-05-01T12:00:00.5Z", "\"2026-05-01T12:00:00.500000Z\"" },
        { NORC_API_TIME, "", "null" },
        { NORC_API_STATUS, "7", "7" },
        { NORC_API_INT, "twelve", "\"twelve\"" },   //  not as declared: kept as text
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *text = s_dump (norc_api_value_json (cases [i].type, cases [i].value));
        cr_expect_str_eq (text, cases [i].json, "case %zu", i);
        free (text);
    }
}

Test (api_json, rows_are_typed_by_their_operation_with_status_names_and_prefix_objects)
{
    norc_rows_t rows = { 0 };
    norc_strmap_t *row = norc_rows_add (&rows);
    norc_strmap_set (row, "id", "5");
    norc_strmap_set (row, "task", "2024");
    norc_strmap_set (row, "status", "13");
    norc_strmap_set (row, "executor_id", "");
    norc_strmap_set (row, "mystery", "9");
    char *text = s_dump (norc_api_rows_json (norc_api_op ("status.instances"), &rows));
    cr_expect_str_eq (text, "[{\"id\":5,\"task\":\"2024\",\"status\":13,\"status_name\":\"FAILURE\","
                            "\"executor_id\":null,\"mystery\":\"9\"}]");
    free (text);
    norc_rows_clear (&rows);

    row = norc_rows_add (&rows);
    norc_strmap_set (row, "name", "T");
    norc_strmap_set (row, "env.HOME", "/tmp");
    norc_strmap_set (row, "env.TOKEN", "(secret)");
    text = s_dump (norc_api_rows_json (norc_api_op ("task.show"), &rows));
    cr_expect_str_eq (text, "[{\"name\":\"T\",\"env\":{\"HOME\":\"/tmp\",\"TOKEN\":\"(secret)\"}}]");
    free (text);
    norc_rows_clear (&rows);
}

Test (api_json, a_row_with_an_undeclared_column_or_a_bad_value_fails_the_check)
{
    const norc_api_op_t *op = norc_api_op ("schedule.list");
    char why [256];
    norc_strmap_t row = { 0 };
    norc_strmap_set (&row, "id", "3");
    norc_strmap_set (&row, "catchup", "latest");
    norc_strmap_set (&row, "paused", "0");
    norc_strmap_set (&row, "warning", "anything");
    cr_expect (norc_api_row_check (op, &row, why, sizeof why), "%s", why);
    norc_strmap_set (&row, "catchup", "sometimes");
    cr_expect_not (norc_api_row_check (op, &row, why, sizeof why));
    cr_expect_not_null (strstr (why, "not a catchup"), "%s", why);
    norc_strmap_set (&row, "catchup", "none");
    norc_strmap_set (&row, "extra", "1");
    cr_expect_not (norc_api_row_check (op, &row, why, sizeof why));
    cr_expect_not_null (strstr (why, "\"extra\" is not in the schema"), "%s", why);
    norc_strmap_clear (&row);
}

Test (api_json, a_json_body_becomes_arguments_by_their_types)
{
    const norc_api_op_t *op = norc_api_op ("task.add");
    json_error_t error;
    json_t *body = json_loads ("{\"name\": \"T\", \"command\": \"echo hi\", \"timeout\": 30, "
                               "\"retries\": \"2\", \"env\": {\"A\": \"1\"}, \"cwd\": null}", 0, &error);
    cr_assert_not_null (body, "%s", error.text);
    norc_strmap_t args = { 0 };
    char why [256] = "";
    cr_assert_eq (norc_api_args_from_json (op, body, &args, why, sizeof why), NORC_OK, "%s", why);
    cr_expect_str_eq (norc_strmap_get (&args, "timeout"), "30");
    cr_expect_str_eq (norc_strmap_get (&args, "retries"), "2");
    cr_expect_str_eq (norc_strmap_get (&args, "env.A"), "1");
    cr_expect_null (norc_strmap_get (&args, "cwd"), "null: left out");
    json_decref (body);
    norc_strmap_clear (&args);

    static const struct { const char *body; const char *why; } bad [] = {
        { "{\"name\": \"T\", \"timeout\": \"soon\"}", "\"timeout\" must be an integer" },
        { "{\"name\": 7}", "\"name\" must be a string" },
        { "{\"nmae\": \"T\"}", "task.add takes no argument \"nmae\"" },
        { "{\"by\": \"someone else\"}", "takes no argument \"by\"" },
        { "{\"env\": \"A=1\"}", "\"env\" must be an object of strings" },
        { "{\"env\": {\"A\": 1}}", "\"env.A\" must be a string" },
        { "[1]", "must be a JSON object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        body = json_loads (bad [i].body, JSON_DECODE_ANY, &error);
        cr_assert_not_null (body, "%s", error.text);
        cr_expect_eq (norc_api_args_from_json (op, body, &args, why, sizeof why), NORC_ERROR, "case %zu", i);
        cr_expect_not_null (strstr (why, bad [i].why), "case %zu: %s", i, why);
        json_decref (body);
        norc_strmap_clear (&args);
    }
}

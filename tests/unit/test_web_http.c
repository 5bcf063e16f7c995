//  norc-web's routing and problem documents, without a server.
#include <criterion/criterion.h>
#include <jansson.h>
#include "web.h"
#include "web_idem.h"
#include "norc_mem.h"

Test (web_http, every_route_of_the_schema_finds_its_operation_with_its_path_arguments)
{
    size_t served = 0;
    for (size_t i = 0; norc_api_op_at (i); i++) {
        const norc_api_op_t *op = norc_api_op_at (i);
        if (!op->http_path)
            continue;
        //  The route with each {arg} filled in
        char path [256], *p = path;
        for (const char *c = op->http_path; *c; c++)
            if (*c == '{') {
                p += sprintf (p, "x-%zu", i);
                c = strchr (c, '}');
            }
            else
                *p++ = *c, *p = 0;
        *p = 0;
        norc_strmap_t args = { 0 };
        bool allowed;
        const norc_api_op_t *found = web_route (op->http_method, path, &args, &allowed);
        cr_expect_eq (found, op, "%s %s finds %s", op->http_method, path, found ? found->name : "nothing");
        for (size_t k = 0; k < args.count; k++)
            cr_expect (norc_api_takes (op, args.keys [k]), "%s: {%s}", op->name, args.keys [k]);
        norc_strmap_clear (&args);
        served++;
    }
    cr_expect_geq (served, 40);
}

Test (web_http, a_path_served_with_another_method_is_told_apart_from_none)
{
    norc_strmap_t args = { 0 };
    bool allowed;
    cr_expect_null (web_route ("PUT", "/tasks", &args, &allowed));
    cr_expect (allowed, "PUT /tasks: the path is served (405)");
    cr_expect_null (web_route ("GET", "/nothing", &args, &allowed));
    cr_expect_not (allowed, "GET /nothing: 404");
    cr_expect_null (web_route ("GET", "/tasks/", &args, &allowed), "an empty {name} is not a name");
    cr_expect_null (web_route ("GET", "/tasks/a/b", &args, &allowed));
    const norc_api_op_t *op = web_route ("POST", "/schedules/12/pause", &args, &allowed);
    cr_assert_not_null (op);
    cr_expect_str_eq (op->name, "schedule.pause");
    cr_expect_str_eq (norc_strmap_get (&args, "id"), "12");
    norc_strmap_clear (&args);
}

Test (web_http, a_problem_is_rfc_9457_with_a_stable_type)
{
    char *text = web_problem (403, "forbidden", "denied: x may not y", "/api/v1/runs");
    json_error_t error;
    json_t *doc = json_loads (text, 0, &error);
    cr_assert_not_null (doc, "%s", error.text);
    cr_expect_str_eq (json_string_value (json_object_get (doc, "type")), "urn:norc:problem:forbidden");
    cr_expect_str_eq (json_string_value (json_object_get (doc, "title")), "Forbidden");
    cr_expect_eq (json_integer_value (json_object_get (doc, "status")), 403);
    cr_expect_str_eq (json_string_value (json_object_get (doc, "detail")), "denied: x may not y");
    cr_expect_str_eq (json_string_value (json_object_get (doc, "instance")), "/api/v1/runs");
    json_decref (doc);
    free (text);
    const char *slug;
    cr_expect_eq (web_status_of (NORC_UNAUTHENTICATED, &slug), 401);
    cr_expect_str_eq (slug, "unauthenticated");
    cr_expect_eq (web_status_of (NORC_DENIED, &slug), 403);
    cr_expect_eq (web_status_of (NORC_AGAIN, &slug), 503);
    cr_expect_eq (web_status_of (NORC_CONFLICT, &slug), 409);
    cr_expect_eq (web_status_of (NORC_ERROR, &slug), 400);
}

Test (web_http, an_idempotency_key_does_a_change_once_and_replays_its_answer)
{
    web_idem_t *idem = web_idem_new (3, 1000);
    int status;
    const char *text, *type;
    cr_expect_eq (web_idem_begin (idem, "k1", "req-a", 0, &status, &text, &type), WEB_IDEM_NEW);
    cr_expect_eq (web_idem_begin (idem, "k1", "req-a", 1, &status, &text, &type), WEB_IDEM_BUSY, "in progress");
    web_idem_finish (idem, "k1", 200, "{\"id\":7}", "application/json");
    cr_expect_eq (web_idem_begin (idem, "k1", "req-a", 2, &status, &text, &type), WEB_IDEM_REPLAY);
    cr_expect_eq (status, 200);
    cr_expect_str_eq (text, "{\"id\":7}");
    cr_expect_eq (web_idem_begin (idem, "k1", "req-b", 3, &status, &text, &type), WEB_IDEM_MISMATCH,
                  "the same key for another request");
    //  A 5xx is forgotten: the retry is done again
    cr_expect_eq (web_idem_begin (idem, "k2", "req-c", 4, &status, &text, &type), WEB_IDEM_NEW);
    web_idem_finish (idem, "k2", 503, "{}", "application/problem+json");
    cr_expect_eq (web_idem_begin (idem, "k2", "req-c", 5, &status, &text, &type), WEB_IDEM_NEW);
    web_idem_finish (idem, "k2", 409, "{}", "application/problem+json");
    //  Past its time, or past the most kept, the oldest is forgotten
    cr_expect_eq (web_idem_begin (idem, "k1", "req-a", 2000, &status, &text, &type), WEB_IDEM_NEW, "expired");
    web_idem_finish (idem, "k1", 200, "{}", "application/json");
    for (int i = 0; i < 5; i++) {
        char key [8];
        snprintf (key, sizeof key, "n%d", i);
        cr_expect_eq (web_idem_begin (idem, key, "x", 2001 + i, &status, &text, &type), WEB_IDEM_NEW);
        web_idem_finish (idem, key, 200, "{}", "application/json");
    }
    cr_expect_leq (web_idem_size (idem), 3, "%zu kept", web_idem_size (idem));
    web_idem_destroy (&idem);
}

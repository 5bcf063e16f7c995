//  web_fixture.h - what the end-to-end tests of norc-web share: norc-web
//  started on a free port, one HTTP request by libcurl with its status,
//  headers and body, the problem documents, API tokens. Included by each
//  test file after NORC_TEST_E2E_SUITE (it uses the suite's s_sys).
#ifndef WEB_FIXTURE_H_INCLUDED
#define WEB_FIXTURE_H_INCLUDED

static int s_port;

//  Start norc-web on a free port and wait until it is ready
static void
s_start_web (void)
{
    s_port = norc_test_free_port ();
    char listen [64];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", s_port);
    const char *args [] = { "--web.listen", listen, NULL };
    norc_test_system_start (s_sys, "norc-web", args);
}

typedef struct {
    long status;
    char *body;
    size_t size;
    char *headers;
    size_t hsize;
} s_response_t;

typedef struct {
    char *buf;
    size_t len;
} s_buf_t;

static size_t
s_collect (char *data, size_t size, size_t n, void *arg)
{
    s_buf_t *b = (s_buf_t *) arg;
    b->buf = (char *) norc_realloc (b->buf, b->len + size * n + 1);
    memcpy (b->buf + b->len, data, size * n);
    b->len += size * n;
    b->buf [b->len] = 0;
    return size * n;
}

//  One request: method, path, bearer token (NULL: none), JSON body (NULL:
//  none), extra headers, newline-separated (NULL: none)
static s_response_t
s_http (const char *method, const char *path, const char *token, const char *body, const char *header)
{
    s_response_t r = { 0 };
    r.body = norc_strdup ("");
    r.headers = norc_strdup ("");
    CURL *curl = curl_easy_init ();
    char *url = norc_asprintf ("http://127.0.0.1:%d%s", s_port, path);
    struct curl_slist *headers = NULL;
    char *auth = token ? norc_asprintf ("Authorization: Bearer %s", token) : NULL;
    if (auth)
        headers = curl_slist_append (headers, auth);
    if (body)
        headers = curl_slist_append (headers, "Content-Type: application/json");
    //  header: one or more, separated by newlines
    char *extra = header ? norc_strdup (header) : NULL;
    for (char *line = extra ? strtok (extra, "\n") : NULL; line; line = strtok (NULL, "\n"))
        headers = curl_slist_append (headers, line);
    free (extra);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    s_buf_t b = { NULL, 0 }, h = { NULL, 0 };
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform (curl);
    //  Not listening yet: status 0 (s_wait_ready waits for it)
    cr_assert (rc == CURLE_OK || rc == CURLE_COULDNT_CONNECT, "%s %s: %s", method, path, curl_easy_strerror (rc));
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &r.status);
    if (b.buf) {
        free (r.body);
        r.body = b.buf;
        r.size = b.len;
    }
    if (h.buf) {
        free (r.headers);
        r.headers = h.buf;
        r.hsize = h.len;
    }
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    free (auth);
    free (url);
    return r;
}

static void
s_response_free (s_response_t *r)
{
    free (r->body);
    free (r->headers);
}

//  The response's JSON body (fails the test when it is not JSON)
static json_t *
s_json (const s_response_t *r)
{
    json_error_t error;
    json_t *doc = json_loads (r->body, JSON_DECODE_ANY, &error);
    cr_assert_not_null (doc, "not JSON (%s): %s", error.text, r->body);
    return doc;
}

//  A problem document of this status and type
static void
s_expect_problem (const s_response_t *r, long status, const char *slug)
{
    cr_expect_eq (r->status, status, "status %ld: %s", r->status, r->body);
    cr_expect_not_null (strstr (r->headers, "application/problem+json"), "%s", r->headers);
    json_t *doc = s_json (r);
    char type [96];
    snprintf (type, sizeof type, "urn:norc:problem:%s", slug);
    cr_expect_str_eq (json_string_value (json_object_get (doc, "type")), type, "%s", r->body);
    cr_expect_eq (json_integer_value (json_object_get (doc, "status")), status);
    json_decref (doc);
}

//  A token with these roles (norcctl token add)
static char *
s_token (const char *name, const char *roles)
{
    char *out = NULL, *err = NULL;
    int rc = norc_test_system_ctl (s_sys, &out, &err, "token", "add", name, "--role", roles, (const char *) NULL);
    cr_assert_eq (rc, 0, "%s%s", out, err);
    free (err);
    out [strcspn (out, "\n")] = 0;
    return out;
}

static void
s_wait_ready (void)
{
    for (int i = 0; i < 200; i++) {
        s_response_t r = s_http ("GET", "/readyz", NULL, NULL, NULL);
        long status = r.status;
        s_response_free (&r);
        if (status == 200)
            return;
        usleep (50000);
    }
    cr_assert_fail ("norc-web never became ready");
}

//  The value of a response header (a copy), or NULL
static char *
s_header (const s_response_t *r, const char *name)
{
    char *key = norc_asprintf ("\n%s: ", name);
    const char *at = strstr (r->headers, key);
    char *value = at ? norc_strndup (at + strlen (key), strcspn (at + strlen (key), "\r\n")) : NULL;
    free (key);
    return value;
}

#endif

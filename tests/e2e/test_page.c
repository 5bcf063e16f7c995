//  End to end: the page in a real browser. The real services, an
//  executor and norc-web; tests/web/page_check.py drives Debian's Chromium
//  with Selenium against it (what it checks is written there) and saves a
//  screenshot of every view in build/page-screenshots.
#include <criterion/criterion.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_log.h"

NORC_TEST_E2E_SUITE (page, 300);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

Test (page, every_section_renders_live_with_controls_by_role_in_chromium)
{
    int port = norc_test_free_port ();
    char listen [64];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    const char *web_args [] = { "--web.listen", listen, NULL };
    norc_test_system_start (s_sys, "norc-web", web_args);
    OK ("queue", "add", "Q");
    const char *exec_args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", exec_args);
    char *token = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &token, &err, "token", "add", "page-setup", "--role", "admin",
                                        (const char *) NULL), 0, "%s", err);
    token [strcspn (token, "\n")] = 0;
    //  Until norc-web answers
    char *probe = norc_asprintf ("for i in $(seq 100); do curl -sf http://%s/readyz >/dev/null && exit 0; "
                                 "sleep 0.1; done; exit 1", listen);
    const char *wait_argv [] = { "/bin/sh", "-c", probe, NULL };
    char *out = NULL;
    free (err);
    err = NULL;
    cr_assert_eq (norc_test_run (wait_argv, NULL, &out, &err), 0, "norc-web is not ready");
    free (out);
    free (err);
    char *url = norc_asprintf ("http://%s", listen);
    const char *argv [] = { "/usr/bin/python3", NORC_SOURCE_DIR "/tests/web/page_check.py", url, token,
                            NORC_BIN_DIR "/../page-screenshots", NULL };
    out = err = NULL;
    int rc = norc_test_run (argv, NULL, &out, &err);
    cr_expect_eq (rc, 0, "the page check failed:\n%s%s", out, err);
    if (rc == 0)
        cr_log_info ("%s", out);
    free (out);
    free (err);
    free (url);
    free (probe);
    free (token);
}

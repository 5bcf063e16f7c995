//  norc_moto.c - see norc_moto.h.
#include <criterion/criterion.h>
#include "norc_moto.h"
#include "norc_test.h"
#include "norc_mem.h"
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
s_run (norc_moto_t *self, const char *what, const char *const *args, size_t count)
{
    //  (the python3 of the PATH: the one the test command gave moto and boto3)
    const char *argv [24] = { "/usr/bin/env", "python3", NORC_SOURCE_DIR "/tests/aws/moto_tool.py", what,
                              self->endpoint };
    size_t n = 5;
    if (strcmp (what, "user")) {
        argv [n++] = self->key;
        argv [n++] = self->secret;
    }
    for (size_t i = 0; i < count && n < 23; i++)
        argv [n++] = args [i];
    argv [n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = norc_test_run (argv, NULL, &out, &err);
    cr_assert_eq (rc, 0, "moto_tool.py %s: %s", what, err);
    free (err);
    out [strcspn (out, "\n")] = 0;
    return out;
}

char *
norc_moto_tool (norc_moto_t *self, const char *what, ...)
{
    const char *args [16];
    size_t count = 0;
    va_list ap;
    va_start (ap, what);
    for (const char *arg; count < 16 && (arg = va_arg (ap, const char *)); )
        args [count++] = arg;
    va_end (ap);
    return s_run (self, what, args, count);
}

norc_moto_t *
norc_moto_start (void)
{
    return norc_moto_start_on ("127.0.0.1");
}

norc_moto_t *
norc_moto_start_on (const char *host)
{
    norc_moto_t *self = (norc_moto_t *) norc_calloc (1, sizeof (norc_moto_t));
    int port = norc_test_free_port ();
    self->endpoint = norc_asprintf ("http://127.0.0.1:%d", port);
    char port_text [16];
    snprintf (port_text, sizeof port_text, "%d", port);
    pid_t parent = getpid ();
    self->pid = fork ();
    cr_assert_geq (self->pid, 0);
    if (self->pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        setenv ("INITIAL_NO_AUTH_ACTION_COUNT", "3", 1);
        if (!freopen ("/dev/null", "w", stdout) || !freopen ("/dev/null", "w", stderr))
            _exit (127);
        execlp ("python3", "python3", "-m", "moto.server", "-H", host, "-p", port_text, (char *) NULL);
        _exit (127);
    }
    //  Up when its API answers
    char *probe = norc_asprintf ("for i in $(seq 300); do curl -sf -o /dev/null %s/moto-api/ && exit 0; sleep 0.1; "
                                 "done; exit 1", self->endpoint);
    const char *argv [] = { "/bin/sh", "-c", probe, NULL };
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_run (argv, NULL, &out, &err), 0, "moto's server did not start");
    free (out);
    free (err);
    free (probe);
    char *user = s_run (self, "user", NULL, 0);
    cr_assert_eq (sscanf (user, "%63s %127s", self->key, self->secret), 2, "%s", user);
    free (user);
    return self;
}

void
norc_moto_stop (norc_moto_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    norc_moto_t *self = *self_p;
    if (self->pid > 0) {
        kill (self->pid, SIGTERM);
        kill (self->pid, SIGCONT);      //  a test that froze it (SIGSTOP) and failed before thawing it
        waitpid (self->pid, NULL, 0);
    }
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

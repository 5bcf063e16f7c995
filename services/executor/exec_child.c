//  exec_child.c - posix_spawn, not fork: the executor may be large and a
//  fork would copy its page tables for every task; posix_spawn uses vfork
//  semantics. The child gets an empty signal mask and default dispositions
//  (the executor blocks SIGCHLD for its signalfd; what it ignores is reset
//  to the default), its own process group
//  (so a timeout can signal the whole tree), /dev/null on stdin, and one
//  pipe for stdout and stderr so their order is kept as the command wrote.
#include "exec_child.h"
#include "norc_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>

extern char **environ;

//  The signals this process ignores, read at the first spawn. An exec
//  resets handled signals to their default but keeps ignored ones ignored,
//  so only these need resetting in the child: one call each instead of one
//  per signal.
static const sigset_t *
s_ignored (void)
{
    static sigset_t ignored;
    static bool known = false;
    if (!known) {
        sigemptyset (&ignored);
        sigaddset (&ignored, SIGPIPE);      //  whatever happens later, never inherited ignored
        for (int sig = 1; sig < NSIG; sig++) {
            struct sigaction sa;
            if (sig != SIGKILL && sig != SIGSTOP && sigaction (sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
                sigaddset (&ignored, sig);
        }
        known = true;
    }
    return &ignored;
}

static const char *s_shell_words [] = {
    //  Keywords and builtins that have no (or a different) program of that name
    "!", ".", ":", "[[", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
    "elif", "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function",
    "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return", "select", "set", "shift",
    "source", "then", "time", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "until",
    "wait", "while", "{", "}", NULL
};

bool
exec_child_is_simple (const char *command)
{
    if (!command)
        return false;
    bool any = false;
    for (const char *p = command; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == ' ' || c == '\t')
            continue;
        any = true;
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')
        &&  !strchr ("_./=:,+@%-", c))
            return false;
    }
    if (!any)
        return false;
    //  The first word: not an assignment, not a builtin
    const char *start = command;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t len = strcspn (start, " \t");
    if (memchr (start, '=', len))
        return false;
    for (int i = 0; s_shell_words [i]; i++)
        if (strlen (s_shell_words [i]) == len && memcmp (start, s_shell_words [i], len) == 0)
            return false;
    return true;
}

char *
exec_child_which (const char *word, const char *path)
{
    struct stat st;
    if (strchr (word, '/'))
        return access (word, X_OK) == 0 && stat (word, &st) == 0 && S_ISREG (st.st_mode)
               ? norc_strdup (word) : NULL;
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *dir = path;
    while (true) {
        size_t len = strcspn (dir, ":");
        char *candidate = norc_asprintf ("%.*s/%s", (int) (len ? len : 1), len ? dir : ".", word);
        if (access (candidate, X_OK) == 0 && stat (candidate, &st) == 0 && S_ISREG (st.st_mode))
            return candidate;
        free (candidate);
        if (!dir [len])
            return NULL;
        dir += len + 1;
    }
}

//  environ without Norc's own settings (NORC_*: endpoints, credentials,
//  paths; a task is not given what its executor holds), plus the extra
//  entries (which win, NORC_INSTANCE_ID and the task's own environment
//  among them). Caller frees the array and the extra strings it made.
static char **
s_environment (const norc_strmap_t *extra, char ***made, size_t *made_count)
{
    size_t base = 0;
    while (environ [base])
        base++;
    size_t extra_count = extra ? extra->count : 0;
    char **env = (char **) norc_calloc (base + extra_count + 1, sizeof (char *));
    *made = (char **) norc_calloc (extra_count + 1, sizeof (char *));
    *made_count = 0;
    size_t n = 0;
    for (size_t i = 0; i < base; i++) {
        bool replaced = false;
        for (size_t k = 0; k < extra_count && !replaced; k++) {
            size_t klen = strlen (extra->keys [k]);
            replaced = strncmp (environ [i], extra->keys [k], klen) == 0 && environ [i][klen] == '=';
        }
        if (!replaced && strncmp (environ [i], "NORC_", 5) != 0)
            env [n++] = environ [i];
    }
    for (size_t k = 0; k < extra_count; k++) {
        char *entry = norc_asprintf ("%s=%s", extra->keys [k], extra->values [k]);
        (*made) [(*made_count)++] = entry;
        env [n++] = entry;
    }
    env [n] = NULL;
    return env;
}

//  Split a simple command into words (it has no quotes). Caller frees.
static char **
s_words (const char *command)
{
    char *copy = norc_strdup (command);
    size_t count = 0;
    char **words = (char **) norc_calloc (strlen (command) / 2 + 2, sizeof (char *));
    for (char *w = strtok (copy, " \t"); w; w = strtok (NULL, " \t"))
        words [count++] = norc_strdup (w);
    free (copy);
    return words;
}

//  The child's side of a spawn into a cgroup: it moves itself into the
//  cgroup first, so that nothing it ever starts is outside it, then does
//  what posix_spawn would. Only system calls here: it shares the parent's
//  memory until it execs (vfork). Any failure's errno goes to *failed.
static void
s_vfork_child (const char *program, char **argv, char **envp, int output, const char *cwd, int cgroup_fd,
               const exec_identity_t *as, volatile int *failed, volatile bool *in_cgroup)
{
    if (cgroup_fd >= 0 && write (cgroup_fd, "0", 1) != 1)
        goto fail;
    *in_cgroup = true;
    //  Handlers are this process's own after vfork (no CLONE_SIGHAND):
    //  every signal back to its default, then none blocked
    struct sigaction dfl;
    memset (&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction (sig, &dfl, NULL);
    sigset_t none;
    sigemptyset (&none);
    if (setpgid (0, 0) != 0)
        goto fail;
    int in = open ("/dev/null", O_RDONLY);
    if (in < 0 || dup2 (in, 0) < 0 || dup2 (output, 1) < 0 || dup2 (output, 2) < 0)
        goto fail;
    if (in > 2)
        close (in);
    //  The task's user, groups first (once the ids are dropped they cannot
    //  be changed); its working directory is then opened as that user
    if (as && as->name
    &&  (setgroups ((size_t) as->group_count, as->groups) != 0 || setgid (as->gid) != 0 || setuid (as->uid) != 0))
        goto fail;
    if (cwd && *cwd && chdir (cwd) != 0)
        goto fail;
    sigprocmask (SIG_SETMASK, &none, NULL);
    execve (program, argv, envp);
fail:
    *failed = errno ? errno : EINVAL;
    _exit (127);
}

int
exec_child_spawn (const char *command, const norc_strmap_t *env, const char *cwd,
                  exec_child_t *child, char *err, size_t errsize)
{
    return exec_child_spawn_in (command, env, cwd, -1, NULL, child, err, errsize);
}

int
exec_child_spawn_in (const char *command, const norc_strmap_t *env, const char *cwd, int cgroup_fd,
                     const exec_identity_t *as, exec_child_t *child, char *err, size_t errsize)
{
    memset (child, 0, sizeof (*child));
    child->output_fd = -1;
    int fds [2];
    if (pipe2 (fds, O_CLOEXEC) != 0) {
        snprintf (err, errsize, "cannot make a pipe: %s", strerror (errno));
        return NORC_ERROR;
    }
    char **made;
    size_t made_count;
    char **envp = s_environment (env, &made, &made_count);
    //  PATH as the child will see it
    const char *path = getenv ("PATH");
    for (size_t k = 0; env && k < env->count; k++)
        if (strcmp (env->keys [k], "PATH") == 0)
            path = env->values [k];
    char **argv = NULL;
    char *program = NULL;
    if (exec_child_is_simple (command)) {
        argv = s_words (command);
        program = exec_child_which (argv [0], path);
    }
    if (!program) {
        //  Not simple, or not found: the shell decides (and reports)
        if (argv)
            for (size_t i = 0; argv [i]; i++)
                free (argv [i]);
        free (argv);
        argv = (char **) norc_calloc (4, sizeof (char *));
        argv [0] = norc_strdup ("sh");
        argv [1] = norc_strdup ("-c");
        argv [2] = norc_strdup (command);
        program = norc_strdup ("/bin/sh");
    }
    else
        child->direct = true;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2 (&actions, fds [1], 1);
    posix_spawn_file_actions_adddup2 (&actions, fds [1], 2);
    if (cwd && *cwd)
        posix_spawn_file_actions_addchdir_np (&actions, cwd);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    sigset_t none;
    sigemptyset (&none);
    posix_spawnattr_setsigmask (&attr, &none);
    posix_spawnattr_setsigdefault (&attr, s_ignored ());
    posix_spawnattr_setpgroup (&attr, 0);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                     | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc;
    bool cgroup_refused = false;
    if (cgroup_fd >= 0 || (as && as->name)) {
        //  posix_spawn can neither join a cgroup nor change the user: a
        //  vfork child does both. No signal handler may run in it while it
        //  shares our memory
        sigset_t all, saved;
        sigfillset (&all);
        pthread_sigmask (SIG_SETMASK, &all, &saved);
        volatile int failed = 0;
        volatile bool in_cgroup = false;
        pid = vfork ();
        if (pid == 0)
            s_vfork_child (program, argv, envp, fds [1], cwd, cgroup_fd, as, &failed, &in_cgroup);
        rc = pid < 0 ? errno : failed;
        cgroup_refused = pid > 0 && failed && !in_cgroup;
        pthread_sigmask (SIG_SETMASK, &saved, NULL);
        if (pid > 0 && failed)
            waitpid (pid, NULL, 0);
    }
    else
        rc = posix_spawn (&pid, program, &actions, &attr, argv, envp);
    posix_spawnattr_destroy (&attr);
    posix_spawn_file_actions_destroy (&actions);
    close (fds [1]);
    for (size_t i = 0; argv [i]; i++)
        free (argv [i]);
    free (argv);
    free (program);
    for (size_t i = 0; i < made_count; i++)
        free (made [i]);
    free (made);
    free (envp);
    if (rc != 0) {
        close (fds [0]);
        if (cgroup_refused) {
            snprintf (err, errsize, "cannot move into its cgroup: %s", strerror (rc));
            errno = rc;
            return NORC_AGAIN;
        }
        if (rc == ENOENT && cwd && *cwd)
            snprintf (err, errsize, "cannot start in working directory %s: %s", cwd, strerror (rc));
        else
            snprintf (err, errsize, "cannot start the command: %s", strerror (rc));
        errno = rc;
        return NORC_ERROR;
    }
    fcntl (fds [0], F_SETFL, fcntl (fds [0], F_GETFL) | O_NONBLOCK);
    child->pid = pid;
    child->output_fd = fds [0];
    return NORC_OK;
}

int
exec_identity_lookup (exec_identity_t *self, const char *name, char *err, size_t errsize)
{
    memset (self, 0, sizeof (*self));
    char buf [16384];
    struct passwd pw, *found = NULL;
    char *end;
    long number = strtol (name, &end, 10);
    if (*name && !*end && number >= 0)
        getpwuid_r ((uid_t) number, &pw, buf, sizeof buf, &found);
    else
        getpwnam_r (name, &pw, buf, sizeof buf, &found);
    if (!found) {
        snprintf (err, errsize, "executor.run_as: no user \"%s\" on this host", name);
        return NORC_ERROR;
    }
    if (geteuid () != 0 && found->pw_uid != geteuid ()) {
        snprintf (err, errsize, "executor.run_as: running tasks as %s needs the executor to run as root", name);
        return NORC_ERROR;
    }
    if (geteuid () != 0)
        return NORC_OK;         //  the executor's own user: nothing to switch (name stays NULL)
    int count = 64;
    self->groups = (gid_t *) norc_calloc ((size_t) count, sizeof (gid_t));
    if (getgrouplist (found->pw_name, found->pw_gid, self->groups, &count) < 0) {
        self->groups = (gid_t *) norc_realloc (self->groups, (size_t) count * sizeof (gid_t));
        getgrouplist (found->pw_name, found->pw_gid, self->groups, &count);
    }
    self->group_count = count;
    self->name = norc_strdup (found->pw_name);
    self->uid = found->pw_uid;
    self->gid = found->pw_gid;
    self->home = norc_strdup (found->pw_dir ? found->pw_dir : "/");
    return NORC_OK;
}

void
exec_identity_clear (exec_identity_t *self)
{
    free (self->name);
    free (self->groups);
    free (self->home);
    memset (self, 0, sizeof (*self));
}

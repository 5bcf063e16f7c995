//  exec_child.h - start one command as a child in its own process group,
//  with its output (stdout and stderr together) on a pipe, and decide how
//  to start it: a command that is one simple word list is exec'd directly
//  after a PATH search (as GNU make does), anything else goes through
//  /bin/sh -c. The user cannot tell the difference: a command that is not
//  found always goes to the shell, which gives its usual message and 127.
#ifndef EXEC_CHILD_H_INCLUDED
#define EXEC_CHILD_H_INCLUDED
#include "norc.h"
#include "norc_pack.h"
#include <sys/types.h>

//  Who tasks run as (executor.run_as): a user's ids, groups and home
typedef struct {
    char *name;             //  NULL: the executor's own user
    uid_t uid;
    gid_t gid;
    gid_t *groups;          //  its supplementary groups
    int group_count;
    char *home;
} exec_identity_t;

//  Look the user up (a name, or a number). NORC_OK, or NORC_ERROR with
//  the reason in err (no such user; not root, so it cannot switch). When
//  it is the executor's own user and the executor is not root, there is
//  nothing to switch: NORC_OK with no name.
int exec_identity_lookup (exec_identity_t *self, const char *name, char *err, size_t errsize);
void exec_identity_clear (exec_identity_t *self);

typedef struct {
    pid_t pid;              //  child, also its process group id
    int output_fd;          //  read end of its stdout+stderr pipe (non-blocking)
    bool direct;            //  exec'd without a shell
} exec_child_t;

//  True when the command can be exec'd without a shell: only plain words
//  (no quotes, expansions, globs, redirections, operators, assignments)
//  and a first word that is not a shell builtin or keyword.
bool exec_child_is_simple (const char *command);

//  Find an executable for word in PATH (or word itself when it has a '/').
//  Caller owns the result; NULL when there is none.
char *exec_child_which (const char *word, const char *path);

//  Start command, in the executor's environment without its NORC_* settings,
//  plus env: extra environment (may be NULL); cwd: working
//  directory (NULL for ours). NORC_OK, or NORC_ERROR with errno set and its
//  text in err (the machine could not start it: no process, no pipe, bad
//  cwd).
int exec_child_spawn (const char *command, const norc_strmap_t *env, const char *cwd,
                      exec_child_t *child, char *err, size_t errsize);

//  The same, with the child in the cgroup whose cgroup.procs is open as
//  cgroup_fd (-1: none) from before it runs anything: it writes itself
//  there before its exec (vfork), so not even what it forks at once is
//  left outside. NORC_AGAIN (nothing started) when the kernel refused the
//  move: the caller may start it without the cgroup.
//  as: the user it runs as (NULL or no name: the executor's own); it takes
//  that user's groups and ids before its working directory and its exec.
int exec_child_spawn_in (const char *command, const norc_strmap_t *env, const char *cwd, int cgroup_fd,
                         const exec_identity_t *as,
                         exec_child_t *child, char *err, size_t errsize);

#endif

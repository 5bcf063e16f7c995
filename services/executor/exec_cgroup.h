//  exec_cgroup.h - a cgroup (v2) per instance, under the executor's own
//  cgroup, where the host lets the executor write there. A process cannot
//  leave its cgroup on its own (setsid, a cleared environment and double
//  forks do not matter), so at the instance's end everything it started is
//  found in one file and ended with one write (cgroup.kill). Where the host
//  does not allow it (cgroup v1 only, a read-only cgroup file system, no
//  delegation), the executor keeps using the process group and its role as
//  subreaper, which it uses in any case.
//
//  Layout: <the executor's cgroup>/norc-executor-<pid>/i<instance id>.
//  The executor notes its subtree in its spool slot; the executor that
//  adopts the slot of one that died (exec_spool) empties and removes the
//  subtree it names (exec_cgroup_reap). So an executor only ever touches
//  what an executor of its own spool left, never another system's.
#ifndef EXEC_CGROUP_H_INCLUDED
#define EXEC_CGROUP_H_INCLUDED
#include "norc.h"
#include <sys/types.h>

typedef struct _exec_cgroup_t exec_cgroup_t;

//  The executor's subtree, made at `root` (a cgroup v2 directory) or, when
//  root is NULL, under the executor's own cgroup found through
//  /proc/self/cgroup and /proc/self/mountinfo. NULL when the host does
//  not allow it, with the reason in why.
exec_cgroup_t *exec_cgroup_open (const char *root, char *why, size_t whysize);

//  Ends whatever still runs in the subtree and removes it.
void exec_cgroup_destroy (exec_cgroup_t **self_p);

//  The subtree's path (for messages).
const char *exec_cgroup_path (exec_cgroup_t *self);

//  Make the instance's cgroup and open its cgroup.procs for writing, for
//  exec_child_spawn_in (the child moves itself there before it runs
//  anything). The caller closes it. -1, with the reason in why, when it
//  cannot (the instance then runs without one).
int exec_cgroup_prepare (exec_cgroup_t *self, uint64_t instance_id, char *why, size_t whysize);

//  How many processes the instance's cgroup holds (0 when it has none).
int exec_cgroup_count (exec_cgroup_t *self, uint64_t instance_id);

//  SIGTERM to every process of the instance's cgroup (a timeout or a kill
//  reaches what left the process group too).
void exec_cgroup_signal (exec_cgroup_t *self, uint64_t instance_id, int signal);

//  End every process of the instance's cgroup and remove it, waiting up
//  to wait_ms for them to be gone. Returns how many there were; the
//  cgroup is removed later (exec_cgroup_sweep) if they took longer.
int exec_cgroup_end (exec_cgroup_t *self, uint64_t instance_id, int wait_ms);

//  An executor's subtree left by one that died (its path as its spool slot
//  noted it): everything in it ended, then removed. Returns how many
//  processes were ended; a path that is not an executor's subtree is
//  left alone.
int exec_cgroup_reap (const char *path);

//  End and remove the cgroups of instances for which running(instance_id,
//  arg) is false (left from an end that took longer, or from a run this
//  executor no longer knows). Returns how many processes were ended.
int exec_cgroup_sweep (exec_cgroup_t *self, bool (*running) (uint64_t instance_id, void *arg), void *arg);

#endif

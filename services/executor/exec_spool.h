//  exec_spool.h - the executor's spool: where output waits for the
//  log-archiver, and what lets a restarted executor reconcile the work of
//  one that died.
//
//  Each executor works in its own slot, a directory under spool.dir that
//  it holds an flock on for its whole life (the kernel releases the lock
//  when the process dies, however it dies). A slot whose lock is free
//  belongs to an executor that is gone: the next executor to start adopts
//  its files. Per instance the slot holds ID.log (the spooled output) and,
//  while the child runs, a record in the slot's run table `runs` (the
//  instance, its process group and the interval its leader started in, so
//  a later executor can stop the group without ever signalling an
//  unrelated process that reused the number).
#ifndef EXEC_SPOOL_H_INCLUDED
#define EXEC_SPOOL_H_INCLUDED
#include "norc.h"
#include <sys/types.h>

typedef struct _exec_spool_t exec_spool_t;

//  What a dead executor left behind, found when a spool is opened.
typedef struct {
    uint64_t instance_id;
    bool lost_run;              //  its child was running when the executor died
    bool stopped;               //  ... and its process group was still there: SIGKILLed
    bool ended;                 //  its child had ended, the end not yet recorded by the aggregator:
    int status, exit_code, signal;  //  ... how it ended
    char *log;                  //  spool file of its output, NULL if none
} exec_spool_leftover_t;

//  Create this executor's slot under root (made if missing) and adopt every
//  abandoned slot's files. NULL with the reason in err on failure.
exec_spool_t *exec_spool_open (const char *root, char *err, size_t errsize);

//  Release the slot (removed when empty) and free.
void exec_spool_destroy (exec_spool_t **self_p);

//  The slot's directory.
const char *exec_spool_dir (exec_spool_t *self);

//  A new, empty file `name` in the slot (a kept one renamed when there is
//  one): an fd open for reading and writing, or -1.
int exec_spool_file_new (exec_spool_t *self, const char *name);

//  Done with file `name`: emptied and kept for reuse, or removed.
void exec_spool_file_done (exec_spool_t *self, const char *name);

//  NORC_OK when the slot is there and its run table open (a stat, no
//  write): the executor takes no work without a spool.
int exec_spool_usable (exec_spool_t *self);

//  Make the slot usable again if it went away under us (recreated and
//  locked). NORC_OK when it is there.
int exec_spool_repair (exec_spool_t *self);

//  Now, in clock ticks since boot (how the kernel records a process's start).
uint64_t exec_spool_clock (void);

//  Remember that instance id runs as process group pgid (0: about to be
//  spawned; recorded again once it is), spawned after
//  `since` (exec_spool_clock before the spawn) and before now: a later
//  executor signals the group only if its leader started in that interval.
//  Note how it ended (kept until the aggregator has the end: a later
//  executor reports it then, instead of a lost run). Forget it (once the
//  aggregator has the end).
int exec_spool_run_record (exec_spool_t *self, uint64_t id, pid_t pgid, uint64_t since);
void exec_spool_run_ended (exec_spool_t *self, uint64_t id, int status, int exit_code, int signal);
void exec_spool_run_forget (exec_spool_t *self, uint64_t id);

//  The instances adopted at open, each once: lost runs have their process
//  group stopped (SIGKILL) when it still exists and their record removed.
//  Caller frees with exec_spool_leftovers_free.
int exec_spool_leftovers (exec_spool_t *self, exec_spool_leftover_t **list, size_t *count);
void exec_spool_leftovers_free (exec_spool_leftover_t **list, size_t count);

//  Note this executor's cgroup subtree in its slot, so that the executor
//  that adopts the slot if this one dies can reap it.
int exec_spool_note_cgroup (exec_spool_t *self, const char *path);

//  The cgroup subtrees noted by the slots this spool adopted (owned by
//  the spool). Returns how many.
size_t exec_spool_cgroups_left (exec_spool_t *self, const char *const **paths);

#endif

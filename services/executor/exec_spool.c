//  exec_spool.c - the executor's spool slot and the reconciliation of the
//  slots of executors that died. See exec_spool.h.
#include "exec_spool.h"
#include <czmq.h>
#include "norc_log.h"
#include "norc_mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  Files kept empty for reuse. Creating and deleting two files per
//  instance made the filesystem's inode allocator the executor's largest
//  cost; renaming a kept file costs a fraction of that.
#define SPOOL_POOL 256

struct _exec_spool_t {
    char *root;
    char *dir;                  //  our slot
    int lock_fd;                //  flock held for our life
    exec_spool_leftover_t *leftovers;
    size_t leftover_count;
    int pool [SPOOL_POOL];      //  emptied files kept for reuse: .free-N
    size_t pooled;
    int pool_next;              //  N of the next one
    char **cgroups_left;        //  the cgroup subtrees noted by slots adopted
    size_t cgroups_left_count;
    int runs_fd;                //  the run table: `runs`, one RUN_RECORD-byte line per running child
    uint64_t *runs;             //  instance id in each record, 0 when free
    size_t runs_size;
    zhashx_t *run_at;           //  instance id -> its record's index + 1
    size_t *free_runs;          //  the free records' indexes (a stack)
    size_t free_count;
};

//  The record of instance id, or runs_size when it has none
static size_t
s_run_index (exec_spool_t *self, uint64_t id)
{
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) id);
    uintptr_t at = self->run_at ? (uintptr_t) zhashx_lookup (self->run_at, key) : 0;
    return at ? (size_t) at - 1 : self->runs_size;
}

//  Every record free (at open, after a repair)
static void
s_runs_reset (exec_spool_t *self)
{
    if (!self->run_at)
        self->run_at = zhashx_new ();
    zhashx_purge (self->run_at);
    if (self->runs)
        memset (self->runs, 0, self->runs_size * sizeof (uint64_t));
    self->free_count = 0;
    for (size_t i = self->runs_size; i > 0; i--)
        self->free_runs [self->free_count++] = i - 1;
}

//  A run record: "ID PGID SINCE UNTIL" (the clock ticks since boot between
//  which the child was spawned) padded with spaces to a fixed length, so
//  starting and ending a child is one pwrite each, with no file created,
//  renamed or removed. A free record is blank.
#define RUN_RECORD 64

//  Start time of a process in clock ticks since boot (field 22 of
//  /proc/PID/stat), 0 when there is no such process.
static unsigned long long
s_start_time (pid_t pid)
{
    char path [64], buf [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (n <= 0)
        return 0;
    buf [n] = 0;
    char *p = strrchr (buf, ')');
    if (!p)
        return 0;
    p++;
    //  Fields after the command name start with field 3; we want 22
    for (int field = 2; field < 22 && p; field++) {
        p = strchr (p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull (p, NULL, 10) : 0;
}

//  Take the lock of a slot that is not ours. Returns its fd (locked) or -1
//  when it has none or its executor lives.
static int
s_lock_abandoned (const char *slot)
{
    char *lock = norc_asprintf ("%s/lock", slot);
    int fd = open (lock, O_RDWR | O_CLOEXEC);
    free (lock);
    if (fd < 0)
        return -1;
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        close (fd);
        return -1;
    }
    return fd;
}

//  Move an abandoned slot's files into ours and remove it.
static void
s_adopt (exec_spool_t *self, const char *slot)
{
    int fd = s_lock_abandoned (slot);
    if (fd < 0)
        return;
    DIR *dir = opendir (slot);
    size_t moved = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (strncmp (entry->d_name, ".free-", 6) == 0) {
            char *spare = norc_asprintf ("%s/%s", slot, entry->d_name);
            unlink (spare);
            free (spare);
            continue;
        }
        if (entry->d_name [0] == '.' || strcmp (entry->d_name, "lock") == 0)
            continue;
        if (strcmp (entry->d_name, "cgroup") == 0) {
            //  The dead executor's cgroup subtree: for the executor to reap
            char *note = norc_asprintf ("%s/cgroup", slot);
            FILE *file = fopen (note, "r");
            char path [4096];
            if (file && fgets (path, sizeof path, file)) {
                path [strcspn (path, "\n")] = 0;
                self->cgroups_left = (char **) norc_realloc (self->cgroups_left,
                                                              (self->cgroups_left_count + 1) * sizeof (char *));
                self->cgroups_left [self->cgroups_left_count++] = norc_strdup (path);
            }
            if (file)
                fclose (file);
            unlink (note);
            free (note);
            continue;
        }
        char *from = norc_asprintf ("%s/%s", slot, entry->d_name);
        //  Its run table keeps the dead slot's name beside ours
        char *to = strcmp (entry->d_name, "runs") == 0
                 ? norc_asprintf ("%s/runs-%s", self->dir, strrchr (slot, '/') + 1)
                 : norc_asprintf ("%s/%s", self->dir, entry->d_name);
        if (rename (from, to) == 0)
            moved++;
        else
            norc_log_warn ("spool: cannot move %s to %s", from, to);
        free (from);
        free (to);
    }
    if (dir)
        closedir (dir);
    char *lock = norc_asprintf ("%s/lock", slot);
    unlink (lock);
    free (lock);
    if (rmdir (slot) != 0)
        norc_log_warn ("spool: cannot remove %s", slot);
    close (fd);
    if (moved)
        norc_log_info ("spool: adopted %zu files from %s, left by an executor that is gone", moved, slot);
}

static exec_spool_leftover_t *
s_leftover (exec_spool_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->leftover_count; i++)
        if (self->leftovers [i].instance_id == id)
            return &self->leftovers [i];
    self->leftovers = (exec_spool_leftover_t *) norc_realloc (self->leftovers,
                          (self->leftover_count + 1) * sizeof (exec_spool_leftover_t));
    exec_spool_leftover_t *l = &self->leftovers [self->leftover_count++];
    memset (l, 0, sizeof *l);
    l->instance_id = id;
    return l;
}

//  An adopted run table: every record in it is a lost run, whose process
//  group is stopped if it is still the very one that was started.
static void
s_lost_runs (exec_spool_t *self, const char *path)
{
    FILE *file = fopen (path, "r");
    char line [RUN_RECORD + 2];
    while (file && fgets (line, sizeof line, file)) {
        unsigned long long id = 0, since = 0, until = 0;
        int pgid = 0, status = 0, exit_code = 0, signal = 0;
        char ended = 0;
        int fields = sscanf (line, "%llu %d %llu %llu %c %d %d %d", &id, &pgid, &since, &until, &ended, &status,
                             &exit_code, &signal);
        if (fields < 3 || id == 0)
            continue;
        if (fields == 3)
            until = since;
        exec_spool_leftover_t *l = s_leftover (self, id);
        if (fields == 8 && ended == 'E' && NORC_STATUS_IS_FINAL (status)) {
            //  It had ended; its end had not reached the record
            l->ended = true;
            l->status = status;
            l->exit_code = exit_code;
            l->signal = signal;
            continue;
        }
        l->lost_run = true;
        //  Only the very process that was started, never a reused number:
        //  it began within the interval recorded around its spawn
        unsigned long long started = pgid > 1 ? s_start_time (pgid) : 0;
        if (since && started >= since && started <= until && kill (-pgid, SIGKILL) == 0) {
            l->stopped = true;
            norc_log_warnx ("instance=%llu: its executor is gone; stopped its process group %d", id, pgid);
        }
    }
    if (file)
        fclose (file);
    unlink (path);
}

//  Everything in our slot at open time was adopted: list it, and stop the
//  process groups of lost runs.
static void
s_inventory (exec_spool_t *self)
{
    DIR *dir = opendir (self->dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char *path = norc_asprintf ("%s/%s", self->dir, entry->d_name);
        char *end;
        unsigned long long id = strtoull (entry->d_name, &end, 10);
        if (strncmp (entry->d_name, "runs-", 5) == 0)
            s_lost_runs (self, path);
        else
        if (id && strcmp (end, ".log") == 0) {
            s_leftover (self, id)->log = path;
            continue;
        }
        free (path);
    }
    if (dir)
        closedir (dir);
}

static int
s_runs_open (exec_spool_t *self)
{
    char *path = norc_asprintf ("%s/runs", self->dir);
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    free (path);
    if (fd < 0)
        return NORC_ERROR;
    if (self->runs_fd >= 0)
        close (self->runs_fd);
    self->runs_fd = fd;
    s_runs_reset (self);
    return NORC_OK;
}

exec_spool_t *
exec_spool_open (const char *root, char *err, size_t errsize)
{
    if (mkdir (root, 0750) != 0 && errno != EEXIST) {
        snprintf (err, errsize, "cannot create the spool directory %s: %s", root, strerror (errno));
        return NULL;
    }
    exec_spool_t *self = (exec_spool_t *) norc_calloc (1, sizeof (exec_spool_t));
    self->root = norc_strdup (root);
    self->lock_fd = -1;
    self->runs_fd = -1;
    //  Made under a hidden name and locked before it is visible, so no
    //  other executor ever takes it for abandoned
    char *temp = norc_asprintf ("%s/.new-XXXXXX", root);
    if (!mkdtemp (temp)) {
        snprintf (err, errsize, "cannot create a slot in %s: %s", root, strerror (errno));
        free (temp);
        exec_spool_destroy (&self);
        return NULL;
    }
    char *lock = norc_asprintf ("%s/lock", temp);
    self->lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    free (lock);
    self->dir = norc_asprintf ("%s/slot-%s", root, strrchr (temp, '-') + 1);
    if (self->lock_fd < 0 || flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0 || rename (temp, self->dir) != 0) {
        snprintf (err, errsize, "cannot set up the slot %s: %s", self->dir, strerror (errno));
        rmdir (temp);
        free (temp);
        exec_spool_destroy (&self);
        return NULL;
    }
    free (temp);
    DIR *dir = opendir (root);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (strncmp (entry->d_name, "slot-", 5) != 0 && strncmp (entry->d_name, ".new-", 5) != 0)
            continue;
        char *slot = norc_asprintf ("%s/%s", root, entry->d_name);
        if (strcmp (slot, self->dir) != 0)
            s_adopt (self, slot);
        free (slot);
    }
    if (dir)
        closedir (dir);
    s_inventory (self);
    if (s_runs_open (self) != NORC_OK) {
        snprintf (err, errsize, "cannot create the run table in %s: %s", self->dir, strerror (errno));
        exec_spool_destroy (&self);
        return NULL;
    }
    return self;
}

void
exec_spool_leftovers_free (exec_spool_leftover_t **list, size_t count)
{
    if (!list || !*list)
        return;
    for (size_t i = 0; i < count; i++)
        free ((*list) [i].log);
    free (*list);
    *list = NULL;
}

void
exec_spool_destroy (exec_spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    exec_spool_t *self = *self_p;
    exec_spool_leftovers_free (&self->leftovers, self->leftover_count);
    for (size_t i = 0; self->dir && i < self->pooled; i++) {
        char *spare = norc_asprintf ("%s/.free-%d", self->dir, self->pool [i]);
        unlink (spare);
        free (spare);
    }
    bool running = false;
    for (size_t i = 0; i < self->runs_size; i++)
        running |= self->runs [i] != 0;
    if (self->dir && self->runs_fd >= 0 && !running) {
        char *runs = norc_asprintf ("%s/runs", self->dir);
        unlink (runs);
        free (runs);
        //  Nothing runs: its cgroup subtree goes with the executor
        char *note = norc_asprintf ("%s/cgroup", self->dir);
        unlink (note);
        free (note);
    }
    for (size_t i = 0; i < self->cgroups_left_count; i++)
        free (self->cgroups_left [i]);
    free (self->cgroups_left);
    if (self->runs_fd >= 0)
        close (self->runs_fd);
    free (self->runs);
    free (self->free_runs);
    zhashx_destroy (&self->run_at);
    if (self->dir && self->lock_fd >= 0) {
        //  Removed when nothing is left in it; else it stays, and the next
        //  executor to start adopts what is there (a run table with
        //  records in it among them)
        bool empty = true;
        DIR *dir = opendir (self->dir);
        struct dirent *entry;
        while (dir && empty && (entry = readdir (dir)))
            empty = entry->d_name [0] == '.' || strcmp (entry->d_name, "lock") == 0;
        if (dir)
            closedir (dir);
        if (empty) {
            char *lock = norc_asprintf ("%s/lock", self->dir);
            unlink (lock);
            free (lock);
            rmdir (self->dir);
        }
    }
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self->dir);
    free (self->root);
    free (self);
    *self_p = NULL;
}

const char *
exec_spool_dir (exec_spool_t *self)
{
    return self->dir;
}

int
exec_spool_usable (exec_spool_t *self)
{
    //  The run table is still linked: the slot was not taken away
    struct stat st;
    return self->runs_fd >= 0 && fstat (self->runs_fd, &st) == 0 && st.st_nlink > 0 ? NORC_OK : NORC_ERROR;
}

int
exec_spool_repair (exec_spool_t *self)
{
    if (exec_spool_usable (self) == NORC_OK)
        return NORC_OK;
    if (mkdir (self->root, 0750) != 0 && errno != EEXIST)
        return NORC_ERROR;
    if (mkdir (self->dir, 0750) != 0 && errno != EEXIST)
        return NORC_ERROR;
    char *lock = norc_asprintf ("%s/lock", self->dir);
    int fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    free (lock);
    if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) != 0) {
        if (fd >= 0)
            close (fd);
        return NORC_ERROR;
    }
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    self->lock_fd = fd;
    self->pooled = 0;
    if (s_runs_open (self) != NORC_OK)
        return NORC_ERROR;
    norc_log_info ("spool: %s made again", self->dir);
    return NORC_OK;
}

int
exec_spool_file_new (exec_spool_t *self, const char *name)
{
    char *path = norc_asprintf ("%s/%s", self->dir, name);
    int fd = -1;
    while (fd < 0 && self->pooled) {
        char *spare = norc_asprintf ("%s/.free-%d", self->dir, self->pool [--self->pooled]);
        if (rename (spare, path) == 0)
            fd = open (path, O_RDWR | O_TRUNC | O_CLOEXEC);
        free (spare);
    }
    if (fd < 0)
        fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    free (path);
    return fd;
}

void
exec_spool_file_done (exec_spool_t *self, const char *name)
{
    char *path = norc_asprintf ("%s/%s", self->dir, name);
    bool kept = false;
    if (self->pooled < SPOOL_POOL && truncate (path, 0) == 0) {
        int n = self->pool_next++;
        char *spare = norc_asprintf ("%s/.free-%d", self->dir, n);
        if (rename (path, spare) == 0) {
            self->pool [self->pooled++] = n;
            kept = true;
        }
        free (spare);
    }
    if (!kept)
        unlink (path);
    free (path);
}

static int
s_run_write (exec_spool_t *self, size_t index, const char *text)
{
    char record [RUN_RECORD];
    memset (record, ' ', sizeof record);
    memcpy (record, text, strlen (text) < RUN_RECORD - 1 ? strlen (text) : RUN_RECORD - 1);
    record [RUN_RECORD - 1] = '\n';
    if (pwrite (self->runs_fd, record, sizeof record, (off_t) (index * RUN_RECORD)) != (ssize_t) sizeof record) {
        norc_log_warn ("spool: cannot write the run table in %s", self->dir);
        return NORC_ERROR;
    }
    return NORC_OK;
}

uint64_t
exec_spool_clock (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_BOOTTIME, &ts);
    //  As the kernel counts a process's start: whole clock ticks since boot
    uint64_t hz = (uint64_t) sysconf (_SC_CLK_TCK);
    return (uint64_t) ts.tv_sec * hz + (uint64_t) ts.tv_nsec / (1000000000ULL / hz);
}

int
exec_spool_run_record (exec_spool_t *self, uint64_t id, pid_t pgid, uint64_t since)
{
    if (self->runs_fd < 0)
        return NORC_ERROR;
    //  Its own line again (its process group now known), else a free one:
    //  one look-up each, however many records wait for their end's
    //  acknowledgement (an aggregator away for a while)
    size_t index = s_run_index (self, id);
    if (index == self->runs_size) {
        if (self->free_count == 0) {
            size_t old = self->runs_size;
            self->runs_size = old ? old * 2 : 16;
            self->runs = (uint64_t *) norc_realloc (self->runs, self->runs_size * sizeof (uint64_t));
            memset (self->runs + old, 0, (self->runs_size - old) * sizeof (uint64_t));
            self->free_runs = (size_t *) norc_realloc (self->free_runs, self->runs_size * sizeof (size_t));
            for (size_t i = self->runs_size; i > old; i--)
                self->free_runs [self->free_count++] = i - 1;
        }
        index = self->free_runs [--self->free_count];
        char key [32];
        snprintf (key, sizeof key, "%llu", (unsigned long long) id);
        zhashx_insert (self->run_at, key, (void *) (uintptr_t) (index + 1));
    }
    char text [RUN_RECORD];
    snprintf (text, sizeof text, "%llu %d %llu %llu", (unsigned long long) id, (int) pgid,
              (unsigned long long) since, (unsigned long long) exec_spool_clock ());
    if (s_run_write (self, index, text) != NORC_OK)
        return NORC_ERROR;
    self->runs [index] = id;
    return NORC_OK;
}

void
exec_spool_run_ended (exec_spool_t *self, uint64_t id, int status, int exit_code, int signal)
{
    size_t index = s_run_index (self, id);
    if (index == self->runs_size)
        return;
    //  (the process group is gone: 0 as pgid, never signalled)
    char text [RUN_RECORD];
    snprintf (text, sizeof text, "%llu 0 0 0 E %d %d %d", (unsigned long long) id, status, exit_code, signal);
    s_run_write (self, index, text);
}

void
exec_spool_run_forget (exec_spool_t *self, uint64_t id)
{
    size_t index = s_run_index (self, id);
    if (index == self->runs_size)
        return;
    s_run_write (self, index, "");
    self->runs [index] = 0;
    char key [32];
    snprintf (key, sizeof key, "%llu", (unsigned long long) id);
    zhashx_delete (self->run_at, key);
    self->free_runs [self->free_count++] = index;
}

int
exec_spool_leftovers (exec_spool_t *self, exec_spool_leftover_t **list, size_t *count)
{
    *list = self->leftovers;
    *count = self->leftover_count;
    self->leftovers = NULL;
    self->leftover_count = 0;
    return NORC_OK;
}

int
exec_spool_note_cgroup (exec_spool_t *self, const char *path)
{
    char *note = norc_asprintf ("%s/cgroup", self->dir);
    FILE *file = fopen (note, "w");
    int rc = file && fprintf (file, "%s\n", path) > 0 ? NORC_OK : NORC_ERROR;
    if (file && fclose (file) != 0)
        rc = NORC_ERROR;
    free (note);
    return rc;
}

size_t
exec_spool_cgroups_left (exec_spool_t *self, const char *const **paths)
{
    *paths = (const char *const *) self->cgroups_left;
    return self->cgroups_left_count;
}

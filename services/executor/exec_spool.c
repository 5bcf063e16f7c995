//  exec_spool.c - the executor's spool slot and the reconciliation of the
//  slots of executors that died. See exec_spool.h.
#include "exec_spool.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
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
};

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
        char *from = norc_asprintf ("%s/%s", slot, entry->d_name);
        char *to = norc_asprintf ("%s/%s", self->dir, entry->d_name);
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

//  Everything in our slot at open time was adopted: list it, and stop the
//  process groups of lost runs.
static void
s_inventory (exec_spool_t *self)
{
    DIR *dir = opendir (self->dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char *end;
        unsigned long long id = strtoull (entry->d_name, &end, 10);
        if (id == 0 || (strcmp (end, ".log") != 0 && strcmp (end, ".run") != 0))
            continue;
        exec_spool_leftover_t *l = s_leftover (self, id);
        char *path = norc_asprintf ("%s/%s", self->dir, entry->d_name);
        if (strcmp (end, ".log") == 0) {
            l->log = path;
            continue;
        }
        l->lost_run = true;
        FILE *file = fopen (path, "r");
        int pgid = 0;
        unsigned long long started = 0;
        if (file) {
            if (fscanf (file, "%d %llu", &pgid, &started) != 2)
                pgid = 0;
            fclose (file);
        }
        //  Only the very process that was started, never a reused number
        if (pgid > 1 && started && s_start_time (pgid) == started && kill (-pgid, SIGKILL) == 0) {
            l->stopped = true;
            norc_log_warnx ("instance=%llu: its executor is gone; stopped its process group %d", id, pgid);
        }
        unlink (path);
        free (path);
    }
    if (dir)
        closedir (dir);
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
    if (self->dir && self->lock_fd >= 0) {
        //  Removed when nothing is left in it; else it stays, and the next
        //  executor to start adopts what is there
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
exec_spool_repair (exec_spool_t *self)
{
    struct stat st;
    if (stat (self->dir, &st) == 0 && S_ISDIR (st.st_mode))
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

int
exec_spool_run_record (exec_spool_t *self, uint64_t id, pid_t pgid)
{
    char name [64];
    snprintf (name, sizeof name, "%llu.run", (unsigned long long) id);
    int fd = exec_spool_file_new (self, name);
    if (fd < 0)
        return NORC_ERROR;
    char line [64];
    int n = snprintf (line, sizeof line, "%d %llu\n", (int) pgid, s_start_time (pgid));
    bool ok = write (fd, line, (size_t) n) == n;
    close (fd);
    return ok ? NORC_OK : NORC_ERROR;
}

void
exec_spool_run_forget (exec_spool_t *self, uint64_t id)
{
    char name [64];
    snprintf (name, sizeof name, "%llu.run", (unsigned long long) id);
    exec_spool_file_done (self, name);
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

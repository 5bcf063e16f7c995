//  exec_cgroup.c - see exec_cgroup.h. Only files of the cgroup v2
//  interface are used, and no controller: membership is all Norc needs
//  (so no "no internal processes" rule applies, and the executor's own
//  cgroup may keep the executor in it).
#include "exec_cgroup.h"
#include "norc_mem.h"
#include "norc_log.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

struct _exec_cgroup_t {
    char *path;                 //  <the executor's cgroup>/norc-executor-<pid>
};

//  The whole of a small file (cgroup and proc files have no size). Caller frees.
static char *
s_read (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t size = 0, cap = 4096;
    char *text = (char *) norc_malloc (cap);
    while (true) {
        if (cap - size < 2) {
            cap *= 2;
            text = (char *) norc_realloc (text, cap);
        }
        ssize_t n = read (fd, text + size, cap - size - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size += (size_t) n;
    }
    close (fd);
    text [size] = 0;
    return text;
}

static int
s_write (const char *path, const char *text)
{
    int fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write (fd, text, strlen (text));
    int saved = errno;
    close (fd);
    errno = saved;
    return n == (ssize_t) strlen (text) ? 0 : -1;
}

//  The directory of this process's cgroup v2: its path in /proc/self/cgroup
//  (the "0::" line) under the mount point of the cgroup2 file system that
//  holds it. Caller frees; NULL when there is none.
static char *
s_own_dir (char *why, size_t whysize)
{
    char *own = s_read ("/proc/self/cgroup");
    const char *rel = NULL;
    for (char *line = own; line && *line; ) {
        char *next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        if (strncmp (line, "0::", 3) == 0)
            rel = line + 3;
        line = next;
    }
    if (!rel) {
        snprintf (why, whysize, "this process has no cgroup v2");
        free (own);
        return NULL;
    }
    char *mounts = s_read ("/proc/self/mountinfo");
    char *found = NULL;
    for (char *line = mounts; line && *line && !found; ) {
        char *next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        //  id parent major:minor root mountpoint options... - fstype source options
        char root [1024], point [1024], type [64];
        const char *dash = strstr (line, " - ");
        if (dash && sscanf (line, "%*s %*s %*s %1023s %1023s", root, point) == 2
        &&  sscanf (dash + 3, "%63s", type) == 1 && strcmp (type, "cgroup2") == 0) {
            size_t rlen = strcmp (root, "/") == 0 ? 0 : strlen (root);
            if (strncmp (rel, root, rlen) == 0 && (rel [rlen] == '/' || rel [rlen] == 0))
                found = norc_asprintf ("%s%s", point, strcmp (rel + rlen, "/") == 0 ? "" : rel + rlen);
        }
        line = next;
    }
    if (!found)
        snprintf (why, whysize, "no cgroup2 file system holds this process's cgroup (%s)", rel);
    free (mounts);
    free (own);
    return found;
}

//  Kill what a subtree's instance cgroups hold and remove them, then the
//  subtree itself. For subtrees left by executors that are gone.
static void
s_remove_tree (const char *path, bool (*running) (uint64_t, void *), void *arg, int *ended)
{
    DIR *dir = opendir (path);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] != 'i' || entry->d_type != DT_DIR)
            continue;
        uint64_t id = strtoull (entry->d_name + 1, NULL, 10);
        if (running && running (id, arg))
            continue;
        char *sub = norc_asprintf ("%s/%s", path, entry->d_name);
        char *file = norc_asprintf ("%s/cgroup.procs", sub);
        char *procs = s_read (file);
        int count = 0;
        for (char *p = procs; p && *p; p++)
            count += *p == '\n';
        free (procs);
        free (file);
        if (count) {
            file = norc_asprintf ("%s/cgroup.kill", sub);
            s_write (file, "1");
            free (file);
            if (ended)
                *ended += count;
        }
        rmdir (sub);
        free (sub);
    }
    closedir (dir);
}

exec_cgroup_t *
exec_cgroup_open (const char *root, char *why, size_t whysize)
{
    char *base = root ? norc_strdup (root) : s_own_dir (why, whysize);
    if (!base)
        return NULL;
    struct statfs fs;
    if (statfs (base, &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
        snprintf (why, whysize, "%s is not a cgroup v2 directory", base);
        free (base);
        return NULL;
    }
    exec_cgroup_t *self = (exec_cgroup_t *) norc_calloc (1, sizeof (exec_cgroup_t));
    self->path = norc_asprintf ("%s/norc-executor-%d", base, (int) getpid ());
    free (base);
    char *procs = norc_asprintf ("%s/cgroup.procs", self->path);
    char *kill_file = norc_asprintf ("%s/cgroup.kill", self->path);
    if ((mkdir (self->path, 0755) != 0 && errno != EEXIST) || access (procs, W_OK) != 0)
        snprintf (why, whysize, "cannot make %s: %s", self->path, strerror (errno));
    else
    if (access (kill_file, W_OK) != 0)
        snprintf (why, whysize, "%s has no cgroup.kill (Linux 5.14 or later is needed)", self->path);
    else
        *why = 0;
    free (procs);
    free (kill_file);
    if (*why) {
        rmdir (self->path);
        free (self->path);
        free (self);
        return NULL;
    }
    return self;
}

int
exec_cgroup_reap (const char *path)
{
    //  Only an executor's subtree, whatever the note that named it says
    const char *name = strrchr (path, '/');
    if (!name || strncmp (name + 1, "norc-executor-", 14) != 0)
        return 0;
    struct stat st;
    if (stat (path, &st) != 0)
        return 0;
    int ended = 0;
    s_remove_tree (path, NULL, NULL, &ended);
    if (ended) {
        usleep (100000);
        s_remove_tree (path, NULL, NULL, NULL);
    }
    rmdir (path);
    return ended;
}

static bool
s_nothing_runs (uint64_t instance_id, void *arg)
{
    NORC_UNUSED (instance_id);
    NORC_UNUSED (arg);
    return false;
}

void
exec_cgroup_destroy (exec_cgroup_t **self_p)
{
    exec_cgroup_t *self = *self_p;
    if (!self)
        return;
    if (exec_cgroup_sweep (self, s_nothing_runs, NULL)) {
        usleep (100000);
        exec_cgroup_sweep (self, s_nothing_runs, NULL);
    }
    rmdir (self->path);
    free (self->path);
    free (self);
    *self_p = NULL;
}

const char *
exec_cgroup_path (exec_cgroup_t *self)
{
    return self->path;
}

int
exec_cgroup_prepare (exec_cgroup_t *self, uint64_t instance_id, char *why, size_t whysize)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/i%llu", self->path, (unsigned long long) instance_id);
    if (mkdir (path, 0755) != 0 && errno != EEXIST) {
        snprintf (why, whysize, "cannot make %s: %s", path, strerror (errno));
        return -1;
    }
    char file [4300];
    snprintf (file, sizeof file, "%s/cgroup.procs", path);
    int fd = open (file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf (why, whysize, "cannot open %s: %s", file, strerror (errno));
        rmdir (path);
    }
    return fd;
}

//  The pids in the instance's cgroup. Caller frees the text.
static char *
s_procs (exec_cgroup_t *self, uint64_t instance_id)
{
    char file [4300];
    snprintf (file, sizeof file, "%s/i%llu/cgroup.procs", self->path, (unsigned long long) instance_id);
    return s_read (file);
}

int
exec_cgroup_count (exec_cgroup_t *self, uint64_t instance_id)
{
    char *procs = s_procs (self, instance_id);
    int count = 0;
    for (char *p = procs; p && *p; p++)
        count += *p == '\n';
    free (procs);
    return count;
}

void
exec_cgroup_signal (exec_cgroup_t *self, uint64_t instance_id, int signal)
{
    char *procs = s_procs (self, instance_id);
    char *save = NULL;
    for (char *p = procs ? strtok_r (procs, "\n", &save) : NULL; p; p = strtok_r (NULL, "\n", &save))
        kill ((pid_t) atoi (p), signal);
    free (procs);
}

int
exec_cgroup_end (exec_cgroup_t *self, uint64_t instance_id, int wait_ms)
{
    char path [4200], file [4300];
    snprintf (path, sizeof path, "%s/i%llu", self->path, (unsigned long long) instance_id);
    int count = exec_cgroup_count (self, instance_id);
    if (count) {
        snprintf (file, sizeof file, "%s/cgroup.kill", path);
        s_write (file, "1");
        //  SIGKILL is sent at once; the processes are gone a moment later
        for (int waited = 0; waited < wait_ms && exec_cgroup_count (self, instance_id); waited++) {
            struct timespec ms = { 0, 1000000 };
            nanosleep (&ms, NULL);
        }
    }
    rmdir (path);
    return count;
}

int
exec_cgroup_sweep (exec_cgroup_t *self, bool (*running) (uint64_t instance_id, void *arg), void *arg)
{
    int ended = 0;
    s_remove_tree (self->path, running, arg, &ended);
    return ended;
}

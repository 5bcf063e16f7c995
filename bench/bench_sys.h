//  bench_sys.h - what the benchmark programs share: a private Norc for one
//  measurement (its own database on the benchmark's MariaDB, endpoints
//  under a directory of its own, services started and stopped by PID),
//  and a few SQL helpers.
#ifndef BENCH_SYS_H_INCLUDED
#define BENCH_SYS_H_INCLUDED
#include "norc.h"
#include "norc_db.h"
#include <sys/types.h>

typedef struct {
    char *url;
    char *env [20];
    pid_t pids [16];
    int count;
    int serial;
} bench_sys_t;

extern const char *bench_server;    //  the MariaDB server's URL (a database name is added)
extern const char *bench_bin;       //  where the service binaries are
extern char bench_dir [];           //  the run's directory (mkdtemp'd by main)
extern bool bench_curve;            //  CURVE on every endpoint

//  A private Norc named name: its database made and migrated, its
//  environment (endpoints, directories, CURVE keys when bench_curve).
void bench_sys_init (bench_sys_t *sys, const char *name);
//  Start a service binary with args (NULL-terminated); its output goes to
//  a log file in bench_dir.
pid_t bench_sys_startv (bench_sys_t *sys, const char *binary, const char *const *args);
pid_t bench_sys_start (bench_sys_t *sys, const char *binary, const char *a1, const char *a2, const char *a3,
                       const char *a4);
//  Kill one of its services at once (SIGKILL) and forget it.
void bench_sys_kill (bench_sys_t *sys, pid_t pid);
//  Stop its services (SIGTERM, then wait) and drop its database.
void bench_sys_stop (bench_sys_t *sys);

//  A loopback port free now (exits the benchmark when there is none).
int bench_free_port (void);

//  The first column of the first row of sql (-1: none, or an error).
int64_t bench_int (norc_db_t *db, const char *sql);
//  Run sql; exit the benchmark when it fails.
void bench_exec (norc_db_t *db, const char *sql);

//  Results for bench/report.py, when bench_out (a directory) is set: a
//  figure by name, written with the others as one JSON object to
//  bench_out/name; and the first column of sql's rows, one a line, to
//  bench_out/name (samples, for a distribution).
extern const char *bench_out;
void bench_result (const char *key, double value);
void bench_results_write (const char *name);
void bench_dump (norc_db_t *db, const char *sql, const char *name);

#endif

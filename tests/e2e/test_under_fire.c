//  End to end: the promises under hostile or broken input. One bad event
//  among good ones does not stop the record.
#include <criterion/criterion.h>
#include <czmq.h>
#include <signal.h>
#include <unistd.h>
#include "norc_test.h"
#include "norc_mem.h"
#include "norc_msg.h"
#include "norc_zmq.h"
#include "exec_cgroup.h"

NORC_TEST_E2E_SUITE (under_fire, 120);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static const char *
s_env (const char *name)
{
    return norc_test_system_env (s_sys, name);
}

//  An instance's log once its end is written (the caller frees)
static char *
s_whole_log (const char *id)
{
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 100; i++) {
        if (norc_test_system_ctl (s_sys, &out, &err, "logs", id, NULL) == 0 && strstr (out, "Task ended")) {
            free (err);
            return out;
        }
        free (out);
        free (err);
        usleep (100000);
    }
    cr_assert_fail ("the log of instance %s was not complete within 10 s", id);
    return NULL;
}

//  A poisoned INSTANCE-ENDED every 5 ms while a schedule fires: the good
//  runs are recorded at once, the poison is refused and acknowledged, and
//  nothing of it is written. by_database: poison that passes the
//  aggregator's checks and only the database refuses (a reason that is
//  not UTF-8), so every batch that holds it fails and is split.
static void
s_poison (bool by_database)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    OK ("task", "add", "Slow", "--command", "sleep 20");
    const char *args [] = { "Q", "-c", "4", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Slow", "--queue", "Q");             //  instance 1: the poison's target
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 2", 1, 10000);
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, s_env ("NORC_AGGREGATOR_EVENTS"));
    cr_assert_not_null (sender);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_us_t until = norc_mono_us () + 6 * NORC_US_PER_SEC;
    uint64_t seq = 0, acked = 0;
    int kind = 0;
    while (norc_mono_us () < until) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_INSTANCE_ENDED);
        norc_instance_ended_t *m = &msg->instance_ended;
        m->seq = ++seq;
        m->instance_id = 1;
        if (by_database) {
            m->status = NORC_ST_SUCCESS;
            m->started_us = m->ended_us = norc_now_us ();
            m->reason = norc_strdup ("not \xff\xfe UTF-8");
        }
        else
        //  Each kind of value the record cannot hold, in turn
        switch (kind++ % 3) {
            case 0:  m->status = 70000; break;
            case 1:  m->status = NORC_ST_FAILURE;
                     m->ended_us = INT64_MAX; break;
            default: m->status = 99; break;
        }
        norc_msg_send (&msg, sender);
        while (norc_zmq_wait (sender, 0) == NORC_OK) {
            norc_msg_t *ack = norc_msg_recv (sender);
            if (ack && ack->id == NORC_MSG_ACK)
                acked += 1 + ack->ack.more.count;
            norc_msg_destroy (&ack);
        }
        usleep (5000);
    }
    //  While poisoned, the schedule's runs were recorded as they ended
    cr_expect_geq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE task_id = 1 AND status = 7"), 4,
                   "the good runs were recorded during the flood");
    cr_expect_eq (norc_test_db_int (s_db, "SELECT status FROM instances WHERE id = 1"), NORC_ST_RUNNING,
                  "nothing of the poison was written");
    cr_expect_gt (acked, seq / 2, "the poison is acknowledged (refused), not resent for ever: %llu of %llu",
                  (unsigned long long) acked, (unsigned long long) seq);
    zsock_destroy (&sender);
}

Test (under_fire, a_poisoned_event_is_refused_and_the_rest_is_recorded)
{
    s_poison (false);
}

Test (under_fire, an_event_only_the_database_refuses_is_split_out_of_its_batch)
{
    s_poison (true);
}

//  The longest of `rounds` API requests (ms), pause_ms apart: the
//  aggregator's round trip alone, from a client in this process (a norcctl
//  process's own start, slow under AddressSanitizer and a loaded machine,
//  is not the aggregator's doing); an answer not there within 2 s counts 2 s
static int64_t
s_api_worst_ms (int rounds, int pause_ms)
{
    int64_t worst = 0;
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zsock_set_linger (client, 0);
    cr_assert_eq (zsock_connect (client, "%s", s_env ("NORC_AGGREGATOR_API")), 0);
    for (int i = 0; i < rounds; i++) {
        norc_us_t t0 = norc_mono_us ();
        norc_msg_t *reply = norc_test_api_ask (client, "queue.list", NULL, NULL, 2000);
        int64_t took = reply ? (norc_mono_us () - t0) / 1000 : 2000;
        if (reply)
            cr_expect_eq (reply->api_reply.code, 0, "queue.list: %s", reply->api_reply.error);
        norc_msg_destroy (&reply);
        if (took > worst)
            worst = took;
        usleep ((useconds_t) pause_ms * 1000);
    }
    zsock_destroy (&client);
    return worst;
}

//  A line of a process's status, in kB: "VmHWM:" (its peak resident
//  size) or "VmRSS:" (its resident size now)
static long
s_status_kb (pid_t pid, const char *key)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long kb = -1;
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, key, strlen (key)) == 0)
            kb = atol (line + strlen (key));
    if (file)
        fclose (file);
    return kb;
}

static long
s_rss_kb (pid_t pid)
{
    return s_status_kb (pid, "VmHWM:");
}

//  Frames far over the largest message cost the receiver nothing: libzmq
//  refuses them before reading them in; the service goes on answering.
Test (under_fire, an_oversized_frame_is_refused_before_it_is_read)
{
    pid_t aggregator = norc_test_system_pid (s_sys, "norc-aggregator");
    long before = s_rss_kb (aggregator);
    size_t size = 64 * 1024 * 1024;
    char *junk = (char *) norc_malloc (size);
    memset (junk, 0xc1, size);
    for (int i = 0; i < 3; i++) {
        zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, s_env (i % 2 ? "NORC_AGGREGATOR_API" : "NORC_AGGREGATOR_EVENTS"));
        cr_assert_not_null (sender);
        zsock_set_sndtimeo (sender, 2000);
        zframe_t *frame = zframe_new (junk, size);
        zframe_send (&frame, sender, 0);
        usleep (500000);
        zsock_set_linger (sender, 0);
        zsock_destroy (&sender);
    }
    free (junk);
    norc_us_t t0 = norc_mono_us ();
    OK ("queue", "add", "Q");
    cr_expect_lt (norc_mono_us () - t0, NORC_US_PER_SEC, "the API answers at once");
    long after = s_rss_kb (aggregator);
    cr_expect_lt (after - before, 32 * 1024, "the aggregator did not take the frames in: peak %ld kB -> %ld kB",
                  before, after);
}

//  An assignment whose ASSIGN never reached the executor (or whose
//  RELEASE never reached the dispatcher) is repaired from the executor's
//  heartbeat: the instance runs, once, well within the failure threshold.
Test (under_fire, a_lost_assign_is_sent_again)
{
    OK ("queue", "add", "Q");
    char *file = norc_asprintf ("%s/ran.txt", s_sys->dir);
    char *command = norc_asprintf ("echo ran >> %s", file);
    OK ("task", "add", "T", "--command", command);
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    //  Assigned by the record 10 s ago, under the current dispatch epoch,
    //  and never sent
    norc_test_db_exec (s_db, "INSERT INTO instances (task_id, queue_id, attempt, trigger_kind, status, enqueued_at, "
                             "executor_id, dispatch_epoch, assigned_at) SELECT 1, 1, 1, 2, 1, UTC_TIMESTAMP(6), "
                             "(SELECT id FROM daemons WHERE kind = 2), (SELECT epoch FROM leases WHERE name = 'dispatch'), "
                             "UTC_TIMESTAMP(6) - INTERVAL 10 SECOND");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 8000);
    norc_test_system_settle (s_sys);    //  more heartbeats: it is not sent a third time
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_file_lines (file), 1, "it ran once, not %d times", norc_test_file_lines (file));
    free (command);
    free (file);
}

//  An executor frozen past the threshold is recorded dead and its run
//  ended ERROR; woken, it is told to register again (a new id) and gets
//  work only then; its run's genuine end replaces the guess; killed for
//  good afterwards, nothing it held is left unfinished.
Test (under_fire, a_frozen_executor_recorded_dead_registers_again_and_its_end_wins)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "sleep 3; echo done");
    OK ("task", "add", "Long", "--command", "sleep 30");
    const char *args [] = { "Q", "-c", "2", NULL };
    pid_t pid = norc_test_system_start (s_sys, "norc-executor", args);
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    int64_t first = norc_test_db_int (s_db, "SELECT id FROM daemons WHERE kind = 2");
    OK ("run", "T", "--queue", "Q");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 2", 1, 10000);
    //  Frozen past the threshold (2 s here): recorded dead, its run ERROR
    kill (pid, SIGSTOP);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 14 "
                                   "AND reason LIKE 'executor lost%'", 1, 10000);
    kill (pid, SIGCONT);
    //  Woken: registered again under a new id; the run's end is its own
    norc_test_wait_count (s_sys, NORC_TEST_EXECUTORS, NORC_ST_RUNNING, 1, 10000);
    int64_t second = norc_test_db_int (s_db, "SELECT id FROM daemons WHERE kind = 2 AND status = 2");
    cr_expect_neq (second, first, "a new registration");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1, 10000);
    //  New work goes to it under its new id, never under the dead one
    OK ("run", "Long", "--queue", "Q");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 2 AND status = 2", 1, 10000);
    char sql [160];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM instances WHERE id > 1 AND executor_id = %lld", (long long) first);
    cr_expect_eq (norc_test_db_int (s_db, sql), 0, "no work for a daemon recorded dead");
    //  Killed for good: nothing it holds stays unfinished
    norc_test_system_signal (s_sys, pid, SIGKILL);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) = 0 FROM instances WHERE status < 7", 1, 10000);
    norc_test_process_kill ("^sleep 30$", SIGKILL);
}

//  100,000 heartbeats from daemons nobody registered: the API still
//  answers within a second, and the record is unchanged.
Test (under_fire, a_flood_of_heartbeats_from_strangers_does_not_silence_the_api)
{
    OK ("queue", "add", "Q");
    zsock_t *sender = norc_zmq_connect (ZMQ_DEALER, s_env ("NORC_AGGREGATOR_EVENTS"));
    cr_assert_not_null (sender);
    for (int i = 0; i < 100000; i++) {
        norc_msg_t *msg = norc_msg_new (NORC_MSG_HEARTBEAT);
        msg->heartbeat.daemon_id = 1000000 + (uint64_t) i;
        msg->heartbeat.kind = norc_strdup ("executor");
        msg->heartbeat.host = norc_strdup ("stranger");
        msg->heartbeat.status = NORC_ST_RUNNING;
        norc_msg_send (&msg, sender);
    }
    //  While the flood is read, and after: every answer within a second
    int64_t worst = s_api_worst_ms (10, 300);
    cr_expect_lt (worst, 1000, "the API answered within a second (worst %lld ms)", (long long) worst);
    cr_expect_eq (norc_test_count (s_sys, NORC_TEST_DAEMONS, NORC_TEST_ANY_STATUS), 2,
                  "only the scheduler and the log-archiver are registered");
    zsock_destroy (&sender);
}

//  Output past the log's limit: the log keeps its head and its tail and
//  says how much was cut; the task runs to its end, never held up.
Test (under_fire, output_past_the_limit_keeps_head_and_tail)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Loud", "--command", "seq 1 300000; echo last line");
    const char *args [] = { "Q", "-c", "1", "--executor.log_max_bytes", "100000", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Loud", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 20000);
    char *out = s_whole_log ("1");
    size_t size = strlen (out);
    cr_expect_lt (size, 100000 + 2000, "the log is within its limit and a few lines: %zu bytes", size);
    cr_expect_not_null (strstr (out, "\n1\n2\n3\n"), "the head is kept");
    cr_expect_not_null (strstr (out, "299999\n300000\nlast line\n"), "the tail is kept");
    cr_expect_not_null (strstr (out, "bytes of output cut here"), "and the cut is said");
    cr_expect_null (strstr (out, "\n150000\n"), "the middle is cut");
    cr_expect_not_null (strstr (out, "(executor.log_max_bytes)"), "the cap named is the executor's");
    free (out);
}

//  A task's own cap (--log-max) wins over the executor's default, either
//  way: a tighter one for a chatty task, a larger one for a task whose
//  whole output matters.
Test (under_fire, a_task_caps_its_own_log)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Chatty", "--command", "seq 1 300000; echo last line", "--log-max", "20K");
    OK ("task", "add", "Whole", "--command", "seq 1 30000", "--log-max", "1M");
    char *out, *err;
    cr_expect_neq (norc_test_system_ctl (s_sys, &out, &err, "task", "add", "Bad", "--command", "true",
                                         "--log-max", "12Q", NULL), 0, "a bad size is refused");
    cr_expect_not_null (strstr (err, "bad log_max \"12Q\""), "%s", err);
    free (out);
    free (err);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "task", "show", "Chatty", "--json", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "20480"), "task show gives the cap: %s", out);
    free (out);
    free (err);
    const char *args [] = { "Q", "-c", "1", "--executor.log_max_bytes", "100000", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Chatty", "--queue", "Q");
    OK ("run", "Whole", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 20000);
    out = s_whole_log ("1");
    cr_expect_lt (strlen (out), 20480 + 2000, "the task's cap holds: %zu bytes", strlen (out));
    cr_expect_not_null (strstr (out, "299999\n300000\nlast line\n"), "the tail is kept");
    cr_expect_not_null (strstr (out, "(the task's --log-max)"), "the cap named is the task's");
    free (out);
    out = s_whole_log ("2");
    cr_expect_gt (strlen (out), 168894, "all of its 168,894 bytes are kept: %zu", strlen (out));
    cr_expect_null (strstr (out, "cut here"), "nothing is cut");
    cr_expect_not_null (strstr (out, "\n15000\n"), "the middle is kept");
    free (out);
}

//  What a task leaves running in the background when it exits is ended
//  with it: the instance is final when nothing of it runs.
Test (under_fire, processes_a_task_leaves_behind_are_ended)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "for i in 1 2 3 4 5; do sleep 41 & done; echo left them");
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_expect (norc_test_process_gone ("^sleep 41$", 3000), "the background processes were ended");
    norc_test_process_kill ("^sleep 41$", SIGKILL);
}

//  A process a task starts out of its group (setsid) is ended with the
//  instance too, even without a cgroup: the executor is its subreaper.
Test (under_fire, processes_a_task_puts_out_of_its_group_are_ended)
{
    OK ("queue", "add", "Q");
    //  (the pause lets both leave the group before the task ends)
    OK ("task", "add", "T", "--command", "setsid sleep 43 & setsid sh -c 'sleep 44 & sleep 45' & sleep 0.5; "
        "echo started");
    const char *args [] = { "Q", "-c", "1", "--executor.cgroup", "false", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 10000);
    cr_expect (norc_test_process_gone ("^sleep 4[345]$", 3000), "what it put out of its group was ended");
    char *out, *err;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL), 0, "%s", err);
    cr_expect_not_null (strstr (out, "outside its process group"), "%s", out);
    free (out);
    free (err);
    norc_test_process_kill ("^sleep 4[345]$", SIGKILL);
}

//  Where the host gives the executor a cgroup per instance, even a process
//  that leaves the group and clears its environment (so nothing names its
//  instance) is ended with the instance: at its end, and at a timeout.
Test (under_fire, an_instance_s_cgroup_holds_what_escapes_its_group_and_environment)
{
    char why [512];
    exec_cgroup_t *probe = exec_cgroup_open (NULL, why, sizeof why);
    if (!probe)
        cr_skip_test ("no cgroup per instance on this host: %s", why);
    exec_cgroup_destroy (&probe);
    OK ("queue", "add", "Q");
    OK ("task", "add", "Leaves", "--command", "setsid env -i sh -c 'sleep 48; true' & sleep 0.5; echo started");
    OK ("task", "add", "Hangs", "--command", "setsid env -i sh -c 'sleep 49; true' & sleep 60", "--timeout", "1");
    const char *args [] = { "Q", "-c", "2", "--executor.kill_grace_ms", "300", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("run", "Leaves", "--queue", "Q");
    OK ("run", "Hangs", "--queue", "Q");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 1 AND status = 7", 1, 10000);
    cr_expect (norc_test_process_gone ("^sleep 48$", 3000), "what it left with a clean environment was ended");
    char *out = s_whole_log ("1");
    cr_expect_not_null (strstr (out, "The task left 2 processes running; they were ended."), "%s", out);
    free (out);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE id = 2 AND status = 15", 1, 10000);
    cr_expect (norc_test_process_gone ("^sleep 49$", 3000), "and at a timeout too");
    norc_test_process_kill ("^sleep 4[89]$", SIGKILL);
}

//  A spool that reaches spool.max_bytes (the archiver frozen) closes the
//  head of a running task's log; the log keeps its end and says why.
Test (under_fire, a_full_spool_keeps_the_head_and_the_end)
{
    OK ("queue", "add", "Q");
    OK ("task", "add", "Loud", "--command", "seq 1 400000; echo last line");
    pid_t archiver = norc_test_system_pid (s_sys, "norc-archiver");
    const char *args [] = { "Q", "-c", "1", "--spool.max_bytes", "100000", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    kill (archiver, SIGSTOP);
    OK ("run", "Loud", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 1, 20000);
    kill (archiver, SIGCONT);
    char *out = s_whole_log ("1");
    size_t size = strlen (out);
    cr_expect_lt (size, 100000 + 1048576 + 2000, "the spool's limit and a MiB of tail: %zu bytes", size);
    cr_expect_not_null (strstr (out, "\n1\n2\n3\n"), "the head is kept");
    cr_expect_not_null (strstr (out, "399999\n400000\nlast line\n"), "the end is kept");
    cr_expect_not_null (strstr (out, "(the spool was full: spool.max_bytes)"), "and why it was cut");
    free (out);
}

//  log.max_bytes: the oldest complete logs are removed to stay within it,
//  a reader is told so, and the archiver remembers it across a restart.
Test (under_fire, the_archive_stays_within_its_limit)
{
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGTERM);
    const char *limit [] = { "--log.max_bytes", "300000", NULL };
    norc_test_system_start (s_sys, "norc-archiver", limit);
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "seq 1 10000");       //  48,894 bytes and Norc's lines
    const char *args [] = { "Q", "-c", "1", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    for (int i = 0; i < 10; i++)
        OK ("run", "T", "--queue", "Q");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 10, 20000);
    char *last = s_whole_log ("10");
    free (last);
    char *out, *err;
    int rc = 0;
    for (int i = 0; i < 50; i++) {
        rc = norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL);
        bool removed = rc != 0 && strstr (err, "removed to keep the logs within log.max_bytes");
        free (out);
        free (err);
        if (removed)
            break;
        usleep (100000);
    }
    cr_expect_neq (rc, 0, "the oldest log is gone");
    //  What is kept, once the last log is closed and the next trim ran
    int64_t held = 0;
    for (int round = 0; round < 30 && (held == 0 || held > 300000); round++) {
        usleep (100000);
        held = 0;
        for (int id = 1; id <= 10; id++) {
            char path [64];
            snprintf (path, sizeof path, "%d", id);
            if (norc_test_system_ctl (s_sys, &out, &err, "logs", path, NULL) == 0)
                held += (int64_t) strlen (out);
            free (out);
            free (err);
        }
    }
    cr_expect_leq (held, 300000, "what is kept is within the limit: %lld bytes", (long long) held);
    cr_expect_geq (held, 200000, "and no more was removed than needed: %lld bytes", (long long) held);
    //  A restart counts what is there and remembers what was removed
    norc_test_system_signal (s_sys, norc_test_system_pid (s_sys, "norc-archiver"), SIGTERM);
    norc_test_system_start (s_sys, "norc-archiver", limit);
    rc = 0;
    for (int i = 0; i < 50 && rc == 0; i++) {
        rc = norc_test_system_ctl (s_sys, &out, &err, "logs", "1", NULL);
        if (rc)
            cr_expect_not_null (strstr (err, "removed to keep the logs within log.max_bytes"), "%s", err);
        free (out);
        free (err);
        usleep (100000);
    }
    cr_expect_neq (rc, 0);
    last = s_whole_log ("10");
    free (last);
}

#if defined (__SANITIZE_ADDRESS__)
#   define S_ASAN 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define S_ASAN 1
#   endif
#endif
#ifndef S_ASAN
#   define S_ASAN 0
#endif

//  The process's resident size now
static long
s_rss_now_kb (pid_t pid)
{
    return s_status_kb (pid, "VmRSS:");
}

//  100,000 subscriptions to the event stream: the API keeps answering, and
//  the memory they took is given back when the subscriber leaves.
Test (under_fire, a_flood_of_subscriptions_is_given_back)
{
    pid_t aggregator = norc_test_system_pid (s_sys, "norc-aggregator");
    //  Events to publish all along (a PUB socket reads subscriptions as it sends)
    OK ("queue", "add", "Q");
    OK ("task", "add", "T", "--command", "true");
    const char *args [] = { "Q", "-c", "2", NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
    OK ("schedule", "add", "T", "--queue", "Q", "--period", "1");
    norc_test_wait_count (s_sys, NORC_TEST_INSTANCES, NORC_ST_SUCCESS, 2, 10000);
    long before = s_rss_now_kb (aggregator);
    zsock_t *sub = zsock_new (ZMQ_SUB);
    zsock_set_sndhwm (sub, 0);          //  every subscription goes out (by default most are dropped at 1000)
    cr_assert_eq (zsock_connect (sub, "%s", s_env ("NORC_AGGREGATOR_STREAM")), 0);
    for (int i = 0; i < 100000; i++) {
        char topic [64];
        snprintf (topic, sizeof topic, "instance.ended.%08d.some-longer-topic-name", i);
        zsock_set_subscribe (sub, topic);
    }
    int64_t worst = s_api_worst_ms (20, 200);
    long during = s_rss_now_kb (aggregator);
    zsock_destroy (&sub);
    long after = during;
    for (int i = 0; i < 80 && after > before + 20 * 1024 && !S_ASAN; i++) {       //  the upkeep trims every 10 s
        usleep (200000);
        after = s_rss_now_kb (aggregator);
    }
    cr_expect_lt (worst, 1000, "the API answered within a second (worst %lld ms)", (long long) worst);
    cr_expect_gt (during, before + 50 * 1024, "the flood reached it (%ld kB before, %ld during)", before, during);
#if S_ASAN
    //  AddressSanitizer's allocator keeps what is freed (its quarantine) and
    //  ignores malloc_trim: the memory is measured in the regular build
    NORC_UNUSED (after);
#else
    cr_expect_lt (after, before + 20 * 1024, "the memory is given back: %ld kB before, %ld during, %ld after",
                  before, during, after);
#endif
}

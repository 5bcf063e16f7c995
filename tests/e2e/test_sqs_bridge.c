//  End to end: a queue carried across sites by Amazon SQS (moto's server
//  on loopback, signature checking on). The control plane's site runs the
//  core services and a sending norc-sqs-bridge; the "remote" site runs a
//  receiving bridge and an executor that takes work only from it. Each
//  tick runs exactly once, checked from what the task itself wrote (one
//  line per run), from the record, and from SQS as boto3 sees it (nothing
//  left in the queue). The bridges are killed -9 at each point of a
//  tick's way (bridge.fault) and started again: no tick runs twice, none
//  is lost, and a redelivered copy is counted as a duplicate. A body that
//  is not a tick is left alone and reaches the dead-letter queue.
#include <criterion/criterion.h>
#include "norc_test.h"
#include "norc_moto.h"
#include "norc_mem.h"
#include "norc_keys.h"
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

NORC_TEST_E2E_SUITE (sqs_bridge, 240);

#define OK(...) NORC_TEST_CTL_OK (s_sys, __VA_ARGS__)

static norc_moto_t *s_moto;
static char *s_url;
static char *s_dispatch;
static char *s_runs;

//  The two sites, and the queue between them; keys: the IAM user's key in
//  every program's environment (else the bridges find theirs elsewhere)
static void
s_sites_as (const char *max_receives, bool keys)
{
    s_moto = norc_moto_start ();
    char *entry = norc_asprintf ("AWS_ENDPOINT_URL=%s", s_moto->endpoint);
    norc_test_system_setenv (s_sys, entry);
    free (entry);
    if (keys) {
        entry = norc_asprintf ("AWS_ACCESS_KEY_ID=%s", s_moto->key);
        norc_test_system_setenv (s_sys, entry);
        free (entry);
        entry = norc_asprintf ("AWS_SECRET_ACCESS_KEY=%s", s_moto->secret);
        norc_test_system_setenv (s_sys, entry);
        free (entry);
    }
    norc_test_system_setenv (s_sys, "AWS_REGION=us-east-1");
    s_url = norc_moto_tool (s_moto, "queue", "far", max_receives, NULL);
    s_dispatch = norc_asprintf ("ipc://%s/bridge-dispatch", s_sys->dir);
    s_runs = norc_asprintf ("%s/runs", s_sys->dir);
    OK ("queue", "add", "Far", "--kind", "sqs", "--url", s_url);
    char *command = norc_asprintf ("echo $NORC_INSTANCE_ID >> %s", s_runs);
    OK ("task", "add", "Mark", "--command", command);
    free (command);
}

static void
s_sites (const char *max_receives)
{
    s_sites_as (max_receives, true);
}

static void
s_sites_end (void)
{
    norc_moto_stop (&s_moto);
    free (s_url);
    free (s_dispatch);
    free (s_runs);
}

static pid_t
s_bridge_waiting (bool sending, const char *fault, const char *claim_deadline_ms)
{
    const char *args [] = { "--bridge.queue", "Far", "--bridge.send", sending ? "true" : "false", "--bridge.receive",
                            sending ? "false" : "true", "--bridge.dispatch", s_dispatch, "--bridge.visibility_s", "5",
                            "--bridge.claim_deadline_ms", claim_deadline_ms, "--bridge.fault", fault ? fault : "",
                            NULL };
    return norc_test_system_start (s_sys, "norc-sqs-bridge", args);
}

static pid_t
s_bridge (bool sending, const char *fault)
{
    return s_bridge_waiting (sending, fault, "20000");
}

//  The remote site's executor: its dispatcher is the receiving bridge
static void
s_remote_executor (void)
{
    const char *args [] = { "Far", "-c", "4", "--scheduler.dispatch", s_dispatch, NULL };
    norc_test_system_start (s_sys, "norc-executor", args);
}

//  Wait for a process the test started to end (a fault killed it)
static void
s_wait_dead (pid_t pid)
{
    for (int i = 0; i < 300 && kill (pid, 0) == 0; i++) {
        waitpid (pid, NULL, WNOHANG);
        usleep (100000);
    }
    cr_assert_neq (kill (pid, 0), 0, "the bridge did not reach its fault");
}

//  Every instance of the schedule ran exactly once: as many lines as
//  ticks, each a different instance, each instance SUCCESS
static void
s_exactly_once (int64_t ticks)
{
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 7", ticks, 90000);
    norc_test_system_settle (s_sys);
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances"), ticks, "one instance per tick");
    FILE *file = fopen (s_runs, "r");
    cr_assert_not_null (file);
    uint64_t seen [64];
    size_t count = 0;
    unsigned long long id;
    while (fscanf (file, "%llu", &id) == 1 && count < 64) {
        for (size_t i = 0; i < count; i++)
            cr_expect_neq (seen [i], id, "instance %llu ran twice", id);
        seen [count++] = id;
    }
    fclose (file);
    cr_expect_eq ((int64_t) count, ticks, "%zu runs for %lld ticks", count, (long long) ticks);
}

//  Nothing left in SQS, as boto3 sees it (once the last delete is in)
static void
s_queue_empty (void)
{
    char *count = NULL;
    for (int i = 0; i < 100; i++) {
        free (count);
        count = norc_moto_tool (s_moto, "count", s_url, NULL);
        if (strcmp (count, "0 0") == 0)
            break;
        usleep (100000);
    }
    cr_expect_str_eq (count, "0 0", "visible and in flight");
    free (count);
}

static bool
s_bridge_log_has (const char *text)
{
    char *command = norc_asprintf ("grep -q '%s' %s/norc-sqs-bridge-*.log", text, s_sys->dir);
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    int rc = norc_test_run (argv, NULL, NULL, NULL);
    free (command);
    return rc == 0;
}

Test (sqs_bridge, each_tick_crosses_once_and_runs_on_the_remote_site)
{
    s_sites ("5");
    s_bridge (true, NULL);
    s_bridge (false, NULL);
    s_remote_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "5");
    s_exactly_once (5);
    s_queue_empty ();
    //  The run is recorded as any other: started and ended by the remote executor
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN daemons d ON d.id = i.executor_id "
                                          "WHERE d.kind = 2 AND i.started_at IS NOT NULL"), 5);
    //  norcctl status lists the bridges, and the queue's URL
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", NULL), 0, "%s", err);
    cr_expect (strstr (out, "## Bridges ##"), "%s", out);
    free (out);
    free (err);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "status", "bridges", "--json", NULL), 0, "%s", err);
    cr_expect (strstr (out, "\"kind\": \"bridge\"") || strstr (out, "\"kind\":\"bridge\""), "%s", out);
    free (out);
    free (err);
    s_sites_end ();
}

//  A receiving bridge killed -9 at one point of a tick's way, then started
//  again: the tick runs once all the same
static void
s_killed_at (const char *fault, int64_t ticks)
{
    s_sites ("50");
    s_bridge (true, NULL);
    pid_t receiver = s_bridge (false, fault);
    s_remote_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", ticks == 1 ? "1" : "3");
    s_wait_dead (receiver);
    s_bridge (false, NULL);
    s_exactly_once (ticks);
    s_queue_empty ();
    s_sites_end ();
}

Test (sqs_bridge, killed_after_receiving_no_tick_is_lost)
{
    s_killed_at ("received", 3);
}

Test (sqs_bridge, killed_after_asking_the_claim_no_tick_is_lost)
{
    s_killed_at ("claim-sent", 3);
}

Test (sqs_bridge, killed_after_the_claims_answer_the_holder_runs_it_once)
{
    s_killed_at ("claim-answered", 3);
}

Test (sqs_bridge, killed_after_the_start_the_copy_is_a_duplicate)
{
    s_killed_at ("started", 3);
    //  The message came back after its visibility timeout and was found a copy
    cr_expect (s_bridge_log_has ("copy of a tick claimed already"));
}

Test (sqs_bridge, killed_after_the_delete_nothing_runs_again)
{
    s_killed_at ("deleted", 3);
}

//  The sending bridge killed -9 after a send: recorded dead, what it held
//  waits again and the new one sends it again; the copies are duplicates
Test (sqs_bridge, a_sender_killed_after_sending_leaves_one_run_per_tick)
{
    s_sites ("50");
    pid_t sender = s_bridge (true, "sent");
    s_bridge (false, NULL);
    s_remote_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "3");
    s_wait_dead (sender);
    s_bridge (true, NULL);
    s_exactly_once (3);
    s_queue_empty ();
    s_sites_end ();
}

//  A claim that takes longer than half the visibility timeout (the
//  aggregator frozen: the scheduler still fires the tick and the bridge
//  still sends it, as neither needs the aggregator for that): the
//  receiving bridge extends the message's visibility, so SQS never gives
//  it to another receiver meanwhile; once the aggregator answers, the
//  tick runs once
Test (sqs_bridge, a_slow_claim_keeps_its_message_invisible_and_runs_once)
{
    s_sites ("50");
    s_bridge (true, NULL);
    s_bridge (false, NULL);
    s_remote_executor ();
    //  the scheduler, the log-archiver, two bridges and the remote executor
    norc_test_wait_count (s_sys, NORC_TEST_DAEMONS, NORC_ST_RUNNING, 5, 10000);
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "60", "--reps", "1", "--start", "+2");
    pid_t aggregator = norc_test_system_pid (s_sys, "norc-aggregator");
    kill (aggregator, SIGSTOP);
    char *count = NULL;
    for (int i = 0; i < 100; i++) {
        free (count);
        count = norc_moto_tool (s_moto, "count", s_url, NULL);
        if (strcmp (count, "0 1") == 0)
            break;
        usleep (100000);
    }
    cr_expect_str_eq (count, "0 1", "sent and received");
    free (count);
    sleep (7);                  //  past the 5 s visibility timeout
    count = norc_moto_tool (s_moto, "count", s_url, NULL);
    cr_expect_str_eq (count, "0 1", "still in flight, not visible again");
    free (count);
    kill (aggregator, SIGCONT);
    s_exactly_once (1);
    s_queue_empty ();
    cr_expect_not (s_bridge_log_has ("copy of a tick"), "no copy was received");
    s_sites_end ();
}

//  No site receives for a while: the tick is sent again after its claim
//  deadline; once a site receives, one copy runs and the other is a
//  duplicate (a standard queue keeps both)
Test (sqs_bridge, a_tick_not_claimed_in_time_is_sent_again_and_runs_once)
{
    s_sites ("50");
    s_bridge_waiting (true, NULL, "1000");
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "1");
    char *count = NULL;
    for (int i = 0; i < 100; i++) {
        free (count);
        count = norc_moto_tool (s_moto, "count", s_url, NULL);
        if (atoi (count) >= 2)
            break;
        usleep (100000);
    }
    cr_expect_geq (atoi (count), 2, "sent again: %s", count);
    free (count);
    cr_expect (s_bridge_log_has ("not claimed: sent again"));
    //  ...and why it waits is in the record, until it is claimed
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 1 "
                                   "AND reason LIKE 'sent to SQS % times by bridge %claimed by no site yet%'", 1, 10000);
    s_bridge (false, NULL);
    s_remote_executor ();
    s_exactly_once (1);
    s_queue_empty ();
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances WHERE reason LIKE 'sent to SQS%'"), 0,
                  "the claim cleared why it waited");
    cr_expect (s_bridge_log_has ("copy of a tick claimed already"));
    s_sites_end ();
}

//  A body that is not a tick: never run, never deleted by Norc, moved by
//  SQS's redrive policy to the dead-letter queue; work goes on meanwhile.
//  norcctl sqs dlq lists it and moves it back
Test (sqs_bridge, a_poison_message_reaches_the_dead_letter_queue)
{
    s_sites ("2");
    s_bridge (false, NULL);
    s_bridge (true, NULL);
    s_remote_executor ();
    char *id = norc_moto_tool (s_moto, "send", s_url, "this is not a tick", NULL);
    free (id);
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "2");
    s_exactly_once (2);
    char *dlq = norc_asprintf ("%s-dlq", s_url);
    char *count = NULL;
    for (int i = 0; i < 300; i++) {
        free (count);
        count = norc_moto_tool (s_moto, "count", dlq, NULL);
        if (strcmp (count, "1 0") == 0)
            break;
        usleep (100000);
    }
    cr_expect_str_eq (count, "1 0", "the poison message is in the dead-letter queue");
    free (count);
    cr_expect (s_bridge_log_has ("is not a tick"));
    //  norcctl reads it, and moves it back
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "sqs", "dlq", "list", "Far", NULL), 0, "%s", err);
    cr_expect (strstr (out, "poison: ") && strstr (out, "1 messages in"), "%s", out);
    free (out);
    free (err);
    count = norc_moto_tool (s_moto, "count", dlq, NULL);
    cr_expect_str_eq (count, "1 0", "listing leaves it there, visible");
    free (count);
    cr_assert_eq (norc_test_system_ctl (s_sys, &out, &err, "sqs", "dlq", "redrive", "Far", NULL), 0, "%s", err);
    cr_expect (strstr (out, "1 messages moved back"), "%s", out);
    free (out);
    free (err);
    count = norc_moto_tool (s_moto, "count", dlq, NULL);
    cr_expect_str_eq (count, "0 0", "moved out of the dead-letter queue");
    free (count);
    free (dlq);
    s_sites_end ();
}

//  --------------------------------------------------------------------------
//  Disconnected mode: the remote site's bridge is not connected to the
//  control plane at all (no link, no API socket), and the site's executor
//  takes every endpoint from it. Its claims, its executor's registration,
//  events, heartbeats and output travel home on a FIFO return queue,
//  sealed to home's bridge, which asks the record, relays the rest, and
//  answers on the site's FIFO reply queue, sealed to the site. Each
//  bridge has its own key pair; each names the other's public key
//  (bridge.peers).

static char *s_return_url;
static char *s_reply_url;
static char *s_keys;
static char *s_site_events;
static char *s_site_api;
static char *s_site_logs;

static void
s_disconnected_sites (void)
{
    s_sites ("5");
    s_return_url = norc_moto_tool (s_moto, "queue", "far-return.fifo", "5", NULL);
    s_reply_url = norc_moto_tool (s_moto, "queue", "far-reply.fifo", "5", NULL);
    s_keys = norc_asprintf ("%s/bridge-keys", s_sys->dir);
    s_site_events = norc_asprintf ("ipc://%s/site-events", s_sys->dir);
    s_site_api = norc_asprintf ("ipc://%s/site-api", s_sys->dir);
    s_site_logs = norc_asprintf ("ipc://%s/site-logs", s_sys->dir);
    cr_assert_eq (mkdir (s_keys, 0700), 0);
    char err [256];
    cr_assert_eq (norc_keys_generate (s_keys, "bridge-home", NULL, NULL, err, sizeof err), NORC_OK, "%s", err);
    cr_assert_eq (norc_keys_generate (s_keys, "bridge-far", NULL, NULL, err, sizeof err), NORC_OK, "%s", err);
}

static void
s_disconnected_sites_end (void)
{
    free (s_return_url);
    free (s_reply_url);
    free (s_keys);
    free (s_site_events);
    free (s_site_api);
    free (s_site_logs);
    s_sites_end ();
}

//  Home: sends the queue's ticks and answers the site's claims
static pid_t
s_home (const char *fault)
{
    const char *args [] = { "--bridge.queue", "Far", "--bridge.returns", "true", "--bridge.return_url", s_return_url,
                            "--security.keys_dir", s_keys, "--security.key", "bridge-home", "--bridge.peers",
                            "bridge-far", "--bridge.visibility_s", "5", "--bridge.site_failure_s", "3",
                            "--bridge.fault", fault ? fault : "", NULL };
    return norc_test_system_start (s_sys, "norc-sqs-bridge", args);
}

//  The site: receives the ticks, claims them through the queues
static pid_t
s_site (const char *fault)
{
    const char *args [] = { "--bridge.queue", "Far", "--bridge.send", "false", "--bridge.receive", "true",
                            "--bridge.mode", "disconnected", "--bridge.url", s_url, "--bridge.return_url",
                            s_return_url, "--bridge.reply_url", s_reply_url, "--bridge.dispatch", s_dispatch,
                            "--security.keys_dir", s_keys, "--security.key", "bridge-far", "--bridge.peers",
                            "bridge-home", "--bridge.visibility_s", "5", "--bridge.claim_wait_s", "5",
                            "--bridge.events", s_site_events, "--bridge.api", s_site_api, "--bridge.logs",
                            s_site_logs, "--bridge.beat_s", "1",
                            "--bridge.fault", fault ? fault : "", NULL };
    return norc_test_system_start (s_sys, "norc-sqs-bridge", args);
}

//  The site's executor: its dispatcher, its aggregator (events and
//  registration) are the site's bridge
static pid_t
s_site_executor (void)
{
    const char *args [] = { "Far", "-c", "4", "--scheduler.dispatch", s_dispatch, "--aggregator.events",
                            s_site_events, "--aggregator.api", s_site_api, "--archiver.logs", s_site_logs, NULL };
    return norc_test_system_start (s_sys, "norc-executor", args);
}

//  The tick queue, the return queue and (replies: when no answer can
//  have come late) the reply queue are empty. An answer that comes after
//  its claim was asked again is stale: the site deletes it when it next
//  reads its reply queue, which it does only while claims wait.
static void
s_all_queues_empty (bool replies)
{
    s_queue_empty ();
    char *urls [] = { s_return_url, s_reply_url };
    for (size_t q = 0; q < (replies ? 2 : 1); q++) {
        char *count = NULL;
        for (int i = 0; i < 100; i++) {
            free (count);
            count = norc_moto_tool (s_moto, "count", urls [q], NULL);
            if (strcmp (count, "0 0") == 0)
                break;
            usleep (100000);
        }
        cr_expect_str_eq (count, "0 0", "%s: visible and in flight", urls [q]);
        free (count);
    }
}

Test (sqs_bridge, disconnected_claims_travel_the_queues_and_each_tick_runs_once)
{
    s_disconnected_sites ();
    s_home (NULL);
    pid_t site = s_site (NULL);
    s_site_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "4");
    s_exactly_once (4);
    s_all_queues_empty (true);
    //  The site's executor is in the record, registered by home, and
    //  started and ended every run
    cr_expect_eq (norc_test_db_int (s_db, "SELECT COUNT(*) FROM instances i JOIN daemons d ON d.id = i.executor_id "
                                          "WHERE d.kind = 2 AND i.started_at IS NOT NULL AND i.ended_at IS NOT NULL"), 4);
    //  A run's output, 339 KB (six chunks, each its own SQS message),
    //  reaches the archiver whole, in order
    OK ("task", "add", "Count", "--command", "seq 1 60000");
    OK ("run", "Count", "--queue", "Far");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 7", 5, 60000);
    char *id = norc_asprintf ("%lld", (long long) norc_test_db_int (s_db, "SELECT MAX(id) FROM instances"));
    char *expected = NULL;
    size_t expected_size = 0;
    FILE *text = open_memstream (&expected, &expected_size);
    for (int i = 1; i <= 60000; i++)
        fprintf (text, "%d\n", i);
    fclose (text);
    char *out = NULL, *err = NULL;
    for (int i = 0; i < 100; i++) {
        free (out);
        free (err);
        out = err = NULL;
        if (norc_test_system_ctl (s_sys, &out, &err, "logs", id, NULL) == 0 && strstr (out, "Task ended with"))
            break;
        usleep (100000);
    }
    //  (between the log's first lines, how it started, and its last, how it ended)
    cr_expect (out && strstr (out, expected) && strstr (out, "Task ended with status SUCCESS"),
               "the log read back holds the run's output (%zu bytes; the output is %zu)", out ? strlen (out) : 0,
               expected_size);
    free (out);
    free (err);
    free (expected);
    free (id);
    s_all_queues_empty (true);
    cr_expect (s_bridge_log_has ("site bridge-far on .*disconnected: everything else over the return and reply queues"));
    cr_expect (s_bridge_log_has ("answering the sites of the return queue"));
    //  The site has no API socket of its own in this mode: its claims went
    //  home as return messages and came back as replies, as it says
    kill (site, SIGTERM);
    s_wait_dead (site);
    cr_expect (s_bridge_log_has ("stopped: [1-9][0-9]* return messages sent, 0 read; 0 replies sent, [1-9][0-9]* read"));
    s_disconnected_sites_end ();
}

//  The site killed -9 once its claim is sent, home killed -9 once it sent
//  an answer (its return message not deleted): the message of the tick
//  comes back and is claimed again, the return message comes back and is
//  answered again; the record decides, and each tick runs once
Test (sqs_bridge, disconnected_a_site_killed_after_its_claim_leaves_one_run_per_tick)
{
    s_disconnected_sites ();
    s_home (NULL);
    pid_t site = s_site ("claim-sent");
    s_site_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "3");
    s_wait_dead (site);
    s_site (NULL);
    s_exactly_once (3);
    s_all_queues_empty (true);
    s_disconnected_sites_end ();
}

Test (sqs_bridge, disconnected_home_killed_after_its_answer_leaves_one_run_per_tick)
{
    s_disconnected_sites ();
    pid_t home = s_home ("replied");
    s_site (NULL);
    s_site_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "3");
    s_wait_dead (home);
    s_home (NULL);
    s_exactly_once (3);
    s_all_queues_empty (true);
    s_disconnected_sites_end ();
}

//  The site dies whole (its bridge and its executor killed -9) while a
//  run is in progress: home hears no beat for bridge.site_failure_s,
//  stops saying the site's executor is alive, and the record ends the
//  run ERROR, as any dead executor's
Test (sqs_bridge, disconnected_a_site_gone_silent_has_its_runs_ended)
{
    s_disconnected_sites ();
    s_home (NULL);
    pid_t site = s_site (NULL);
    pid_t executor = s_site_executor ();
    OK ("task", "add", "Nap", "--command", "sleep 15");
    OK ("schedule", "add", "Nap", "--queue", "Far", "--period", "60", "--reps", "1");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 2 AND started_at IS NOT NULL", 1,
                             30000);
    kill (executor, SIGKILL);
    kill (site, SIGKILL);
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 14", 1, 30000);
    cr_expect (s_bridge_log_has ("no beat for 3 s"));
    s_disconnected_sites_end ();
}

//  Control reaches a disconnected site through its reply queue: a run
//  there killed from norcctl ends KILLED; the site's executor stopped
//  from norcctl drains and is recorded ENDED
Test (sqs_bridge, disconnected_control_requests_reach_the_site)
{
    s_disconnected_sites ();
    s_home (NULL);
    s_site (NULL);
    s_site_executor ();
    OK ("task", "add", "Nap", "--command", "sleep 15");
    OK ("schedule", "add", "Nap", "--queue", "Far", "--period", "60", "--reps", "1");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 2 AND started_at IS NOT NULL", 1,
                             30000);
    char *id = norc_asprintf ("%lld", (long long) norc_test_db_int (s_db, "SELECT id FROM instances"));
    //  (the aggregator routes to the executor once it has read its first
    //  heartbeat, relayed by home: until then a kill is refused as "not
    //  connected", which a user would try again)
    int rc = -1;
    for (int i = 0; i < 50 && rc != 0; i++) {
        char *out = NULL, *err = NULL;
        rc = norc_test_system_ctl (s_sys, &out, &err, "instance", "kill", id, NULL);
        cr_assert (rc == 0 || strstr (err, "is not connected"), "%s", err);
        free (out);
        free (err);
        if (rc)
            usleep (200000);
    }
    cr_assert_eq (rc, 0, "the kill was taken");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM instances WHERE status = 9", 1, 20000);
    free (id);
    char *exec = norc_asprintf ("%lld", (long long) norc_test_db_int (s_db, "SELECT MAX(id) FROM daemons WHERE kind = 2"));
    OK ("control", "stop", "executor", exec, "--wait", "--timeout", "30");
    norc_test_db_wait_count (s_db, "SELECT COUNT(*) FROM daemons WHERE kind = 2 AND status = 8", 1, 20000);
    free (exec);
    s_disconnected_sites_end ();
}

//  Anyone able to send to the return queue, without the site's key:
//  home opens nothing, answers nothing, deletes nothing; the real
//  site's ticks run meanwhile
Test (sqs_bridge, disconnected_a_return_message_not_sealed_by_the_site_is_poison)
{
    s_disconnected_sites ();
    s_home (NULL);
    s_site (NULL);
    s_site_executor ();
    char *id = norc_moto_tool (s_moto, "send", s_return_url, "a claim from nobody", NULL);
    free (id);
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "2");
    s_exactly_once (2);
    for (int i = 0; i < 100 && !s_bridge_log_has ("from no site of bridge.peers: left for the dead-letter queue"); i++)
        usleep (100000);
    cr_expect (s_bridge_log_has ("from no site of bridge.peers: left for the dead-letter queue"));
    char *count = norc_moto_tool (s_moto, "count", s_reply_url, NULL);
    cr_expect_str_eq (count, "0 0", "nothing answered it");
    free (count);
    s_disconnected_sites_end ();
}

//  --------------------------------------------------------------------------
//  Temporary credentials: a container's and an instance's (IMDSv2), both
//  from tests/aws/fake_metadata.py, whose credentials are a role's from
//  moto's STS (moto checks their session token) said to expire in 3 s

static pid_t s_metadata;
static int s_metadata_port;

static void
s_metadata_start (void)
{
    s_metadata_port = norc_test_free_port ();
    char port [16];
    snprintf (port, sizeof port, "%d", s_metadata_port);
    s_metadata = fork ();
    cr_assert_geq (s_metadata, 0);
    if (s_metadata == 0) {
        if (!freopen ("/dev/null", "w", stdout))
            _exit (127);
        execlp ("python3", "python3", NORC_SOURCE_DIR "/tests/aws/fake_metadata.py", s_moto->endpoint, s_moto->key,
                s_moto->secret, port, "Bearer norc-test-token", "3", (char *) NULL);
        _exit (127);
    }
    char *probe = norc_asprintf ("for i in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:%d/hits && exit 0; "
                                 "sleep 0.1; done; exit 1", s_metadata_port);
    const char *argv [] = { "/bin/sh", "-c", probe, NULL };
    cr_assert_eq (norc_test_run (argv, NULL, NULL, NULL), 0, "fake_metadata.py did not start");
    free (probe);
}

static void
s_metadata_stop (void)
{
    kill (s_metadata, SIGTERM);
    waitpid (s_metadata, NULL, 0);
}

//  How many credentials one place gave ("container" or "imds")
static int
s_hits (const char *place)
{
    char *command = norc_asprintf ("curl -sf http://127.0.0.1:%d/hits", s_metadata_port);
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    char *out = NULL, *err = NULL;
    cr_assert_eq (norc_test_run (argv, NULL, &out, &err), 0, "%s", err);
    char key [32];
    snprintf (key, sizeof key, "\"%s\": ", place);
    const char *at = strstr (out, key);
    int hits = at ? atoi (at + strlen (key)) : -1;
    free (out);
    free (err);
    free (command);
    return hits;
}

Test (sqs_bridge, temporary_credentials_of_a_container_and_an_instance_are_made_again_before_they_expire)
{
    s_sites_as ("50", false);
    s_metadata_start ();
    //  The sending bridge runs "in a container", the receiving one "on an instance"
    char *full = norc_asprintf ("http://127.0.0.1:%d/creds", s_metadata_port);
    setenv ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    setenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer norc-test-token", 1);
    s_bridge (true, NULL);
    unsetenv ("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv ("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *imds = norc_asprintf ("http://127.0.0.1:%d", s_metadata_port);
    setenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds, 1);
    s_bridge (false, NULL);
    unsetenv ("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    s_remote_executor ();
    OK ("schedule", "add", "Mark", "--queue", "Far", "--period", "1", "--reps", "8");
    s_exactly_once (8);
    s_queue_empty ();
    cr_expect (s_bridge_log_has ("AWS credentials from container (temporary)"));
    cr_expect (s_bridge_log_has ("AWS credentials from instance metadata (temporary)"));
    //  Each bridge asked once to start and once for each of its two
    //  lanes, then again before the 3 s ran out
    int by_container = s_hits ("container"), by_instance = s_hits ("imds");
    cr_expect_geq (by_container, 4, "the container's credentials were made again (%d)", by_container);
    cr_expect_geq (by_instance, 4, "the instance's credentials were made again (%d)", by_instance);
    s_metadata_stop ();
    free (full);
    free (imds);
    s_sites_end ();
}

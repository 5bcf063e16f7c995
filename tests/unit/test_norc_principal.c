//  Unit tests: principals, roles and the registry (common/norc_principal.c),
//  the table of who may send what (proto/norc_authz.c), and the ZAP
//  handler's answer (common/norc_zap.c) to real ZAP frames.
#include <criterion/criterion.h>
#include <czmq.h>
#include "norc_principal.h"
#include "norc_authz.h"
#include "norc_api.h"
#include "norc_zap.h"
#include "norc_msg.h"
#include "norc_mem.h"

Test (norc_principal, roles_parse_strictly_and_bring_what_they_include)
{
    uint32_t roles;
    char err [256];
    cr_assert_eq (norc_roles_parse ("viewer, logs:read", &roles, err, sizeof err), NORC_OK, "%s", err);
    cr_expect_eq (roles, NORC_ROLE_VIEWER | NORC_ROLE_LOGS);
    char text [128];
    norc_roles_format (roles, text, sizeof text);
    cr_expect_str_eq (text, "viewer,logs:read");
    cr_expect_eq (norc_roles_parse ("", &roles, err, sizeof err), NORC_OK);
    cr_expect_eq (roles, 0);
    cr_expect_eq (norc_roles_parse ("viewer,root", &roles, err, sizeof err), NORC_ERROR);
    cr_expect_not_null (strstr (err, "\"root\""), "%s", err);
    cr_expect_eq (norc_roles_parse ("enrol", &roles, err, sizeof err), NORC_ERROR, "a token's role is not granted");
    //  admin > operator > viewer; logs:read comes with admin only
    uint32_t admin = norc_roles_effective (NORC_PRINCIPAL_USER, NORC_ROLE_ADMIN);
    cr_expect (admin & NORC_ROLE_OPERATOR && admin & NORC_ROLE_VIEWER && admin & NORC_ROLE_LOGS);
    uint32_t operator = norc_roles_effective (NORC_PRINCIPAL_USER, NORC_ROLE_OPERATOR);
    cr_expect (operator & NORC_ROLE_VIEWER && !(operator & NORC_ROLE_LOGS) && !(operator & NORC_ROLE_ADMIN));
    //  A token can do one thing, whatever roles it will grant
    cr_expect_eq (norc_roles_effective (NORC_PRINCIPAL_TOKEN, NORC_ROLE_ADMIN), NORC_ROLE_ENROL);
    cr_expect_eq (norc_roles_of_service ("scheduler"), NORC_ROLE_SCHEDULER);
    cr_expect_eq (norc_roles_of_service ("alice"), 0);
}

Test (norc_principal, the_table_says_who_may_send_each_message_and_operation)
{
    //  Only a scheduler creates instances; only an executor (or a bridge, for
    //  an sqs queue) asks for work
    cr_expect_eq (norc_authz_msg (NORC_MSG_INSTANCE_CREATED), NORC_ROLE_SCHEDULER);
    cr_expect_eq (norc_authz_msg (NORC_MSG_HELLO), NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE);
    cr_expect_eq (norc_authz_msg (NORC_MSG_CREDIT), NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE);
    //  (a bridge relays its disconnected sites' executors' output, starts
    //  and ends; a scheduler ends what it skips)
    cr_expect_eq (norc_authz_msg (NORC_MSG_LOG_CHUNK), NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE);
    cr_expect_eq (norc_authz_msg (NORC_MSG_INSTANCE_ENDED), NORC_ROLE_SCHEDULER | NORC_ROLE_EXECUTOR | NORC_ROLE_BRIDGE);
    cr_expect_eq (norc_authz_msg (NORC_MSG_LOG_FETCH), NORC_ROLE_LOGS | NORC_ROLE_WEB);
    //  What travels from a server to its clients is never taken by a server
    int outbound [] = { NORC_MSG_ASSIGN, NORC_MSG_ACK, NORC_MSG_CONTROL, NORC_MSG_LOG_DATA, NORC_MSG_API_REPLY,
                        NORC_MSG_SCHEDULE_CHANGED, NORC_MSG_EVENT, 0, 999 };
    for (size_t i = 0; i < sizeof outbound / sizeof outbound [0]; i++)
        cr_expect_eq (norc_authz_msg (outbound [i]), 0, "message %d", outbound [i]);
    //  Operations
    uint32_t viewer = NORC_ROLE_VIEWER, operator = NORC_ROLE_OPERATOR, admin = NORC_ROLE_ADMIN;
    int user = NORC_PRINCIPAL_USER, service = NORC_PRINCIPAL_SERVICE;
    cr_expect (norc_roles_allow (user, viewer, norc_authz_op ("status.instances")));
    cr_expect (!norc_roles_allow (user, viewer, norc_authz_op ("run")));
    cr_expect (norc_roles_allow (user, operator, norc_authz_op ("run")));
    cr_expect (norc_roles_allow (user, operator, norc_authz_op ("control")));
    cr_expect (!norc_roles_allow (user, operator, norc_authz_op ("task.add")));
    cr_expect (norc_roles_allow (user, admin, norc_authz_op ("task.add")));
    cr_expect (norc_roles_allow (user, admin, norc_authz_op ("keys.revoke")));
    cr_expect (!norc_roles_allow (user, operator, norc_authz_op ("audit.list")));
    cr_expect (!norc_roles_allow (user, admin, norc_authz_op ("daemon.register")), "a user is no daemon");
    cr_expect (norc_roles_allow (service, NORC_ROLE_EXECUTOR, norc_authz_op ("daemon.register")));
    cr_expect (!norc_roles_allow (service, NORC_ROLE_EXECUTOR, norc_authz_op ("run")));
    cr_expect (norc_roles_allow (service, NORC_ROLE_SCHEDULER, norc_authz_op ("instance.kill")));
    cr_expect (!norc_roles_allow (user, operator, norc_authz_op ("no.such.op")), "unknown: admin's");
    cr_expect (norc_roles_allow (NORC_PRINCIPAL_TOKEN, NORC_ROLE_ADMIN, norc_authz_op ("keys.enrol")));
    cr_expect (!norc_roles_allow (NORC_PRINCIPAL_TOKEN, NORC_ROLE_ADMIN, norc_authz_op ("task.add")));
    cr_expect (!norc_roles_allow (user, 0, norc_authz_op ("queue.list")), "no role: nothing");
    cr_expect (norc_roles_allow (user, 0, norc_authz_op ("whoami")), "but who it is");
    cr_expect (norc_roles_allow (user, 0, norc_authz_msg (NORC_MSG_API_REQUEST)), "and a refusal with the reason");
}

//  A principal with a fresh key
static norc_principal_t
s_principal (const char *name, int state, uint32_t roles)
{
    norc_principal_t p = { .name = (char *) name, .kind = NORC_PRINCIPAL_USER, .roles = roles, .state = state };
    char secret [41];
    cr_assert_eq (zmq_curve_keypair (p.key, secret), 0);
    cr_assert (norc_key_fingerprint (p.key, p.fingerprint));
    return p;
}

Test (norc_principal, the_registry_goes_to_its_file_and_back)
{
    norc_registry_t *registry = norc_registry_new ();
    norc_principal_t alice = s_principal ("alice", NORC_PRINCIPAL_ACCEPTED, NORC_ROLE_ADMIN);
    alice.expires_us = 4102444800000000;
    norc_principal_t knock = s_principal ("", NORC_PRINCIPAL_PENDING, 0);
    norc_registry_put (registry, &alice);
    norc_registry_put (registry, &knock);
    char *text = norc_registry_text (registry);
    char err [256];
    norc_registry_t *back = norc_registry_parse (text, err, sizeof err);
    cr_assert_not_null (back, "%s", err);
    cr_expect_eq (norc_registry_size (back), 2);
    const norc_principal_t *found = norc_registry_find (back, alice.key);
    cr_assert_not_null (found);
    cr_expect_str_eq (found->name, "alice");
    cr_expect_str_eq (found->fingerprint, alice.fingerprint);
    cr_expect_eq (found->roles, NORC_ROLE_ADMIN);
    cr_expect_eq (found->expires_us, alice.expires_us);
    char *again = norc_registry_text (back);
    cr_expect_str_eq (again, text, "the same text (sorted by key)");
    free (again);
    //  A line that is not a principal is refused, naming it
    const char *bad [] = { "x\ty\n", "# header\nnot\ttabs\tat\tall\t1\t2\t3\t4\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        cr_expect_null (norc_registry_parse (bad [i], err, sizeof err), "%s", bad [i]);
        cr_expect_not_null (strstr (err, "line"), "%s", err);
    }
    //  A fingerprint that does not match its key is refused
    char *forged = norc_strdup (text);
    char *line = strchr (forged, '\n') + 1;
    char *fp = strchr (line, '\t') + 1;
    fp [0] = fp [0] == 'a' ? 'b' : 'a';
    cr_expect_null (norc_registry_parse (forged, err, sizeof err));
    free (forged);
    free (text);
    norc_registry_destroy (&back);
    norc_registry_destroy (&registry);
    cr_expect (!norc_key_fingerprint ("short", err));
}

//  A ZAP request as libzmq sends it, for a CURVE client key
static zmsg_t *
s_request (const char *mechanism, const char *key_z85)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "1.0");
    zmsg_addstr (request, "7");
    zmsg_addstr (request, "norc");
    zmsg_addstr (request, "127.0.0.1");
    zmsg_addstr (request, "");
    zmsg_addstr (request, mechanism);
    uint8_t key [32] = { 0 };
    if (key_z85)
        zmq_z85_decode (key, key_z85);
    zmsg_addmem (request, key, 32);
    return request;
}

//  The status code, text and user id of an answer
static void
s_expect_answer (norc_registry_t *registry, zmsg_t *request, int64_t now_us, const char *status, const char *text,
                 const char *user)
{
    bool admitted;
    zmsg_t *reply = norc_zap_answer (registry, request, now_us, &admitted);
    cr_assert_eq (zmsg_size (reply), 6);
    char *version = zmsg_popstr (reply), *sequence = zmsg_popstr (reply), *code = zmsg_popstr (reply);
    char *why = zmsg_popstr (reply), *user_id = zmsg_popstr (reply);
    cr_expect_str_eq (version, "1.0");
    cr_expect_str_eq (sequence, "7", "the request's id");
    cr_expect_str_eq (code, status);
    cr_expect_str_eq (why, text);
    cr_expect_str_eq (user_id, user);
    cr_expect_eq (admitted, strcmp (status, "200") == 0);
    free (version);
    free (sequence);
    free (code);
    free (why);
    free (user_id);
    zmsg_destroy (&reply);
    zmsg_destroy (&request);
}

Test (norc_principal, the_zap_handler_admits_only_live_accepted_keys)
{
    norc_registry_t *registry = norc_registry_new ();
    int64_t now = 2000000000000000;
    norc_principal_t ok = s_principal ("ok", NORC_PRINCIPAL_ACCEPTED, NORC_ROLE_VIEWER);
    norc_principal_t pending = s_principal ("", NORC_PRINCIPAL_PENDING, 0);
    norc_principal_t rejected = s_principal ("", NORC_PRINCIPAL_REJECTED, 0);
    norc_principal_t revoked = s_principal ("gone", NORC_PRINCIPAL_ACCEPTED, NORC_ROLE_ADMIN);
    revoked.revoked_us = now - 1;
    norc_principal_t expired = s_principal ("old", NORC_PRINCIPAL_ACCEPTED, NORC_ROLE_ADMIN);
    expired.expires_us = now;
    norc_principal_t stranger = s_principal ("x", NORC_PRINCIPAL_ACCEPTED, 0);
    norc_principal_t all [] = { ok, pending, rejected, revoked, expired };
    for (size_t i = 0; i < sizeof all / sizeof all [0]; i++)
        norc_registry_put (registry, &all [i]);
    s_expect_answer (registry, s_request ("CURVE", ok.key), now, "200", "OK", ok.key);
    s_expect_answer (registry, s_request ("CURVE", pending.key), now, "400", "pending: not accepted yet", "");
    s_expect_answer (registry, s_request ("CURVE", rejected.key), now, "400", "rejected", "");
    s_expect_answer (registry, s_request ("CURVE", revoked.key), now, "400", "revoked", "");
    s_expect_answer (registry, s_request ("CURVE", expired.key), now, "400", "expired", "");
    s_expect_answer (registry, s_request ("CURVE", stranger.key), now, "400", "unknown key", "");
    s_expect_answer (NULL, s_request ("CURVE", ok.key), now, "400", "unknown key", "");
    s_expect_answer (registry, s_request ("PLAIN", ok.key), now, "400", "CURVE only", "");
    //  Malformed: too few frames, a bad version
    zmsg_t *short_one = zmsg_new ();
    zmsg_addstr (short_one, "1.0");
    zmsg_addstr (short_one, "7");
    bool admitted = true;
    zmsg_t *reply = norc_zap_answer (registry, short_one, now, &admitted);
    cr_expect (!admitted);
    zmsg_destroy (&reply);
    zmsg_destroy (&short_one);
    zmsg_t *request = s_request ("CURVE", ok.key);
    zframe_reset (zmsg_first (request), "2.0", 3);
    s_expect_answer (registry, request, now, "400", "not a ZAP 1.0 request", "");
    norc_registry_destroy (&registry);
}

//  The API's schema (proto/norc_api.xml): every operation needs some role
//  and the roles are the authorisation's; reads are not changes; an
//  operation takes the arguments it names (prefixed ones as NAME.KEY) and
//  "by", and nothing else
Test (norc_principal, the_api_schema_names_each_operation_and_its_arguments)
{
    size_t count = 0;
    for (const norc_api_op_t *op; (op = norc_api_op_at (count)); count++) {
        cr_expect_neq (op->needs, 0, "%s needs a role", op->name);
        cr_expect_eq (norc_authz_op (op->name), op->needs, "%s", op->name);
        cr_expect_eq (norc_api_op (op->name), op);
        cr_expect (norc_api_takes (op, "by"), "%s", op->name);
        cr_expect (!norc_api_takes (op, "no_such_argument"), "%s", op->name);
    }
    cr_expect_geq (count, 40);
    cr_expect_null (norc_api_op ("no.such"));
    cr_expect_eq (norc_authz_op ("no.such"), NORC_ROLE_ADMIN, "an unknown operation needs admin");
    cr_expect (!norc_api_op ("queue.list")->change);
    cr_expect (norc_api_op ("queue.add")->change);
    const norc_api_op_t *task_add = norc_api_op ("task.add");
    cr_expect (norc_api_takes (task_add, "command"));
    cr_expect (norc_api_takes (task_add, "env.PATH"));
    cr_expect (norc_api_takes (task_add, "secret.TOKEN"));
    cr_expect (!norc_api_takes (task_add, "env."), "a prefix needs a key");
    cr_expect (!norc_api_takes (task_add, "env"));
    cr_expect (!norc_api_takes (task_add, "environment.X"));
}

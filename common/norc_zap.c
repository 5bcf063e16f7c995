//  norc_zap.c - see norc_zap.h. The handler is an actor answering ZAP 1.0
//  (RFC 27) on inproc://zeromq.zap.01 in czmq's context, which every
//  socket of the process shares.
#include "norc_zap.h"
#include "norc_keys.h"
#include "norc_zmq.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <dirent.h>
#include <pthread.h>

static zcert_t *s_own;              //  this program's pair
static char *s_keys_dir;
static zactor_t *s_handler;
static zhashx_t *s_servers;         //  endpoint -> server pair name (clients pin its key)

//  --------------------------------------------------------------------------
//  Who may connect: the public files in the keys directory

typedef struct {
    char *dir;
    zhashx_t *names;                //  public key (Z85) -> name
    zhashx_t *present;              //  name -> itself: who is admitted now
    int64_t read_at;                //  monotonic ms
} s_registry_t;

//  One registry for the handler's thread and the services' loops
static s_registry_t s_registry;
static pthread_mutex_t s_registry_lock = PTHREAD_MUTEX_INITIALIZER;

//  Read the directory again a second after the last read at most (so a
//  key removed is refused within a second). Locked.
static void
s_registry_read (s_registry_t *self)
{
    int64_t now = zclock_mono ();
    if (self->names && self->read_at && now - self->read_at < 1000)
        return;
    zhashx_destroy (&self->names);
    zhashx_destroy (&self->present);
    self->names = zhashx_new ();
    zhashx_set_destructor (self->names, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->names, (zhashx_duplicator_fn *) strdup);
    self->present = zhashx_new ();
    zhashx_set_destructor (self->present, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->present, (zhashx_duplicator_fn *) strdup);
    self->read_at = now;
    DIR *dir = opendir (self->dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        size_t len = strlen (entry->d_name);
        if (len < 5 || strcmp (entry->d_name + len - 4, ".key") != 0)
            continue;
        char *name = norc_strndup (entry->d_name, len - 4);
        char err [256];
        zcert_t *cert = norc_keys_load (self->dir, name, false, err, sizeof err);
        if (cert) {
            zhashx_update (self->names, zcert_public_txt (cert), name);
            zhashx_update (self->present, name, name);
        }
        zcert_destroy (&cert);
        free (name);
    }
    if (dir)
        closedir (dir);
}

static void
s_handler_actor (zsock_t *pipe, void *arg)
{
    NORC_UNUSED (arg);
    zsock_t *zap = zsock_new_rep ("inproc://zeromq.zap.01");
    zsock_signal (pipe, zap ? 0 : 1);
    if (!zap)
        return;
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, -1);
        if (which == pipe || !which)
            break;
        //  version, request id, domain, address, identity, mechanism, credentials
        zmsg_t *request = zmsg_recv (zap);
        if (!request)
            break;
        char *version = zmsg_popstr (request);
        char *sequence = zmsg_popstr (request);
        char *domain = zmsg_popstr (request);
        char *address = zmsg_popstr (request);
        char *identity = zmsg_popstr (request);
        char *mechanism = zmsg_popstr (request);
        zframe_t *key = zmsg_pop (request);
        char *name = NULL;
        if (mechanism && strcmp (mechanism, "CURVE") == 0 && key && zframe_size (key) == 32) {
            char text [41];
            zmq_z85_encode (text, zframe_data (key), 32);
            pthread_mutex_lock (&s_registry_lock);
            s_registry_read (&s_registry);
            const char *found = (const char *) zhashx_lookup (s_registry.names, text);
            if (!found && zclock_mono () - s_registry.read_at >= 100) {
                //  A key added a moment ago is admitted at once (a flood
                //  of unknown keys reads the directory ten times a second)
                s_registry.read_at = 0;
                s_registry_read (&s_registry);
                found = (const char *) zhashx_lookup (s_registry.names, text);
            }
            name = found ? norc_strdup (found) : NULL;
            pthread_mutex_unlock (&s_registry_lock);
            if (!name)
                norc_log_warnx ("zap: refused a connection from %s: its key %s is not in %s", address ? address : "?",
                                text, s_keys_dir);
        }
        zmsg_t *reply = zmsg_new ();
        zmsg_addstr (reply, "1.0");
        zmsg_addstr (reply, sequence ? sequence : "");
        zmsg_addstr (reply, name ? "200" : "400");
        zmsg_addstr (reply, name ? "OK" : "unknown key");
        zmsg_addstr (reply, name ? name : "");
        zmsg_addmem (reply, "", 0);
        zmsg_send (&reply, zap);
        free (name);
        free (version);
        free (sequence);
        free (domain);
        free (address);
        free (identity);
        free (mechanism);
        zframe_destroy (&key);
        zmsg_destroy (&request);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&zap);
}

//  --------------------------------------------------------------------------
//  The process's CURVE

static void
s_server (norc_config_t *config, const char *key, const char *name)
{
    char *list = norc_strdup (norc_config_str (config, key));
    char *save = NULL;
    for (char *one = strtok_r (list, ",", &save); one; one = strtok_r (NULL, ",", &save))
        zhashx_update (s_servers, one, (void *) name);
    free (list);
}

int
norc_zap_init (norc_config_t *config, const char *role, char *err, size_t errsize)
{
    if (!norc_config_bool (config, "security.curve"))
        return NORC_OK;
    if (!norc_keys_curve_ready (err, errsize))
        return NORC_ERROR;
    const char *dir = norc_config_str (config, "security.keys_dir");
    const char *own = norc_config_str (config, "security.key");
    s_own = norc_keys_load (dir, *own ? own : role, true, err, errsize);
    if (!s_own)
        return NORC_ERROR;
    s_keys_dir = norc_strdup (dir);
    s_registry.dir = s_keys_dir;
    s_servers = zhashx_new ();
    s_server (config, "aggregator.events", "aggregator");
    s_server (config, "aggregator.api", "aggregator");
    s_server (config, "aggregator.stream", "aggregator");
    s_server (config, "scheduler.dispatch", "scheduler");
    s_server (config, "archiver.logs", "archiver");
    s_server (config, "archiver.fetch", "archiver");
    s_handler = zactor_new (s_handler_actor, s_keys_dir);
    if (!s_handler) {
        snprintf (err, errsize, "cannot start the ZAP handler");
        return NORC_ERROR;
    }
    return NORC_OK;
}

void
norc_zap_shutdown (void)
{
    zactor_destroy (&s_handler);
    zhashx_destroy (&s_registry.names);
    zhashx_destroy (&s_registry.present);
    s_registry.dir = NULL;
    zcert_destroy (&s_own);
    zhashx_destroy (&s_servers);
    free (s_keys_dir);
    s_keys_dir = NULL;
}

bool
norc_zap_curve (void)
{
    return s_own != NULL;
}

void
norc_zap_apply (zsock_t *sock, const char *endpoint, bool server)
{
    if (!s_own || strncmp (endpoint, "inproc://", 9) == 0)
        return;
    zcert_apply (s_own, sock);
    if (server) {
        zsock_set_curve_server (sock, 1);
        zsock_set_zap_domain (sock, "norc");
        return;
    }
    //  Pin the server's key: the pair named for whoever owns the endpoint
    const char *name = (const char *) zhashx_lookup (s_servers, endpoint);
    char err [256];
    zcert_t *server_cert = name ? norc_keys_load (s_keys_dir, name, false, err, sizeof err) : NULL;
    if (server_cert)
        zsock_set_curve_serverkey (sock, zcert_public_txt (server_cert));
    else
        norc_log_warnx ("curve: no public key for the server of %s (%s): it will not answer",
                        endpoint, name ? err : "not a Norc endpoint");
    zcert_destroy (&server_cert);
}

bool
norc_zap_admits (const char *user)
{
    if (!s_own)
        return true;
    pthread_mutex_lock (&s_registry_lock);
    s_registry_read (&s_registry);
    bool admitted = user && *user && zhashx_lookup (s_registry.present, user);
    pthread_mutex_unlock (&s_registry_lock);
    static int64_t said_at;
    if (!admitted && zclock_mono () - said_at >= 10000) {
        said_at = zclock_mono ();
        norc_log_warnx ("curve: dropped a message from \"%s\": its key is no longer in %s (said at most every 10 s)",
                        user ? user : "?", s_keys_dir);
    }
    return admitted;
}

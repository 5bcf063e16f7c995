//  norc_zap.c - see norc_zap.h. The handler is an actor answering ZAP 1.0
//  (RFC 27) on inproc://zeromq.zap.01 in czmq's context, which every
//  socket of the process shares. It also keeps the registry fresh: the
//  services' loops only look keys up in it (one lock, one hash lookup).
#include "norc_zap.h"
#include "norc_keys.h"
#include "norc_zmq.h"
#include "norc_log.h"
#include "norc_mem.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_REFRESH_MS    500     //  the registry is read again this often
#define S_MISS_MS       100     //  an unknown key reads it again, at most this often
#define S_REST_MS       5000    //  a store that did not answer is asked again after this

static zcert_t *s_own;              //  this program's pair
static char *s_keys_dir;
static zactor_t *s_handler;
static zhashx_t *s_servers;         //  endpoint -> server pair name (clients pin its key)
static const norc_zap_store_t *s_store;
static norc_config_t *s_config;
static volatile bool s_serving;     //  a server socket exists: keep the registry fresh

//  The registry as last read, for the handler and the services' loops
static norc_registry_t *s_registry;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

//  A warning said at most every 10 s per site, with how many were not said
typedef struct {
    int64_t said_at;
    int64_t quiet;
} s_say_t;

static bool
s_say_now (s_say_t *say)
{
    int64_t now = zclock_mono ();
    if (say->said_at && now - say->said_at < 10000) {
        say->quiet++;
        return false;
    }
    say->said_at = now;
    return true;
}

//  --------------------------------------------------------------------------
//  The registry's sources

//  The public files NAME.key of the keys directory, accepted with the
//  roles their "roles" metadata names (a service's own name: its role); a
//  file that names no role admits nothing (an executor's own new pair in a
//  directory it shares with the servers waits to be accepted like any)
static norc_registry_t *
s_registry_from_dir (const char *path)
{
    norc_registry_t *registry = norc_registry_new ();
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        size_t len = strlen (entry->d_name);
        if (len < 5 || strcmp (entry->d_name + len - 4, ".key") != 0)
            continue;
        char *name = norc_strndup (entry->d_name, len - 4);
        char err [256];
        zcert_t *cert = norc_keys_load (path, name, false, err, sizeof err);
        norc_principal_t p = { .name = name, .state = NORC_PRINCIPAL_ACCEPTED };
        const char *roles = cert ? zcert_meta (cert, "roles") : NULL;
        if (cert && roles && norc_roles_parse (roles, &p.roles, err, sizeof err) != NORC_OK) {
            norc_log_warnx ("zap: key %s/%s.key: %s: not admitted", path, name, err);
            zcert_destroy (&cert);
        }
        if (cert && !roles && !norc_roles_of_service (name))
            zcert_destroy (&cert);
        if (cert) {
            if (!roles)
                p.roles = norc_roles_of_service (name);
            p.kind = norc_roles_kind (p.roles);
            snprintf (p.key, sizeof p.key, "%s", zcert_public_txt (cert));
            norc_key_fingerprint (p.key, p.fingerprint);
            norc_registry_put (registry, &p);
        }
        zcert_destroy (&cert);
        free (name);
    }
    if (dir)
        closedir (dir);
    return registry;
}

//  What the handler's thread keeps between reads
typedef struct {
    void *source;               //  the store's connection, when there is a store
    bool seeded;
    char *cache_path;
    char *cache_text;           //  what the cache holds (written or read)
    struct stat cache_stat;     //  the cache file when last read
    int64_t read_at;            //  monotonic ms
    bool from_store;            //  the registry now is the store's
    int64_t failed_at;          //  monotonic ms: the store did not answer then
} s_loader_t;

//  The keys admitted at the last read (the handler's thread alone), and
//  how many reads found one of them admitted no more
static zhashx_t *s_admitted;
static uint64_t s_withdrawals;

static void
s_note_withdrawals (norc_registry_t *registry)
{
    int64_t now = zclock_time () * 1000;
    zhashx_t *admitted = zhashx_new ();
    for (const norc_principal_t *p = norc_registry_first (registry); p; p = norc_registry_next (registry))
        if (norc_principal_admitted (p, now, NULL))
            zhashx_insert (admitted, p->key, (void *) 1);
    bool withdrawn = false;
    for (void *item = s_admitted ? zhashx_first (s_admitted) : NULL; item && !withdrawn;
         item = zhashx_next (s_admitted))
        withdrawn = zhashx_lookup (admitted, zhashx_cursor (s_admitted)) == NULL;
    if (withdrawn)
        __atomic_add_fetch (&s_withdrawals, 1, __ATOMIC_RELAXED);
    zhashx_destroy (&s_admitted);
    s_admitted = admitted;
}

static void
s_install (norc_registry_t *registry)
{
    s_note_withdrawals (registry);
    pthread_mutex_lock (&s_lock);
    norc_registry_t *old = s_registry;
    s_registry = registry;
    pthread_mutex_unlock (&s_lock);
    norc_registry_destroy (&old);
}

static void
s_cache_write (s_loader_t *self, char *text)
{
    if (self->cache_text && strcmp (self->cache_text, text) == 0) {
        free (text);
        return;
    }
    char *temp = norc_asprintf ("%s.%d.tmp", self->cache_path, (int) getpid ());
    FILE *file = fopen (temp, "w");
    bool ok = file && fputs (text, file) >= 0;
    ok = file && fclose (file) == 0 && ok;
    if (ok && (chmod (temp, 0644) != 0 || rename (temp, self->cache_path) != 0))
        ok = false;
    if (!ok) {
        static s_say_t say;
        if (s_say_now (&say))
            norc_log_warnx ("zap: cannot write the registry's copy %s: %s", self->cache_path, strerror (errno));
        unlink (temp);
    }
    free (temp);
    free (self->cache_text);
    self->cache_text = text;
}

//  The cache file, when it changed since it was last read: true when it
//  was read (or had not changed)
static bool
s_cache_read (s_loader_t *self)
{
    struct stat st;
    if (stat (self->cache_path, &st) != 0)
        return false;
    if (st.st_ino == self->cache_stat.st_ino && st.st_size == self->cache_stat.st_size
    &&  st.st_mtim.tv_sec == self->cache_stat.st_mtim.tv_sec
    &&  st.st_mtim.tv_nsec == self->cache_stat.st_mtim.tv_nsec && self->cache_text)
        return true;
    char *text = NULL;
    FILE *file = fopen (self->cache_path, "r");
    if (file) {
        text = (char *) norc_calloc (1, (size_t) st.st_size + 1);
        size_t size = fread (text, 1, (size_t) st.st_size, file);
        text [size] = 0;
        fclose (file);
    }
    char err [256] = "cannot read it";
    norc_registry_t *registry = text ? norc_registry_parse (text, err, sizeof err) : NULL;
    if (!registry) {
        static s_say_t say;
        if (s_say_now (&say))
            norc_log_warnx ("zap: the registry's copy %s: %s: kept the registry as it was", self->cache_path, err);
        free (text);
        return self->cache_text != NULL;
    }
    s_install (registry);
    self->cache_stat = st;
    free (self->cache_text);
    self->cache_text = text;
    return true;
}

//  Add the keys directory's public files the store does not hold
static void
s_seed (s_loader_t *self)
{
    norc_registry_t *files = s_registry_from_dir (s_keys_dir);
    bool done = true;
    for (const norc_principal_t *p = norc_registry_first (files); p && done; p = norc_registry_next (files))
        done = s_store->seed (self->source, p, "keys_dir") == NORC_OK;
    norc_registry_destroy (&files);
    self->seeded = done;        //  else the store went away: again at the next read
}

//  Read the registry again: from the store (and copy it to the cache),
//  else from the cache, else from the key files
static void
s_refresh (s_loader_t *self)
{
    self->read_at = zclock_mono ();
    //  A store that did not answer is asked again after a rest: until then
    //  the registry stays as it is (a connection attempt would hold
    //  handshakes up)
    bool rest = self->failed_at && self->read_at - self->failed_at < S_REST_MS;
    if (s_store && !self->source && !rest)
        self->source = s_store->open (s_config);
    if (self->source && rest && self->from_store)
        return;
    if (self->source && !rest) {
        if (!self->seeded)
            s_seed (self);
        norc_registry_t *registry = norc_registry_new ();
        int64_t asked_at = zclock_mono ();
        if (self->seeded && s_store->load (self->source, registry) == NORC_OK) {
            s_cache_write (self, norc_registry_text (registry));
            s_install (registry);
            self->from_store = true;
            self->failed_at = 0;
            return;
        }
        norc_registry_destroy (&registry);
        //  Only a store that held the handler up rests (one that answered
        //  at once, say before its tables exist, is asked again next time)
        if (zclock_mono () - asked_at >= 200 || zclock_mono () - self->read_at >= 200)
            self->failed_at = self->read_at;
        static s_say_t say;
        if (s_say_now (&say))
            norc_log_warnx ("zap: cannot read the registry from the database: %s",
                            self->from_store ? "kept it as it was" : "using the copy in the keys directory");
        if (self->from_store)
            return;
    }
    if (!s_cache_read (self))
        s_install (s_registry_from_dir (s_keys_dir));
}

//  --------------------------------------------------------------------------
//  The handler

zmsg_t *
norc_zap_answer (norc_registry_t *registry, zmsg_t *request, int64_t now_us, bool *admitted)
{
    //  version, request id, domain, address, identity, mechanism, credentials
    zframe_t *frames [7] = { NULL };
    frames [0] = zmsg_first (request);
    for (int i = 1; i < 7 && frames [i - 1]; i++)
        frames [i] = zmsg_next (request);
    const char *text = "not a ZAP 1.0 request";
    char key [41] = "";
    bool ok = false;
    if (frames [6] && zframe_streq (frames [0], "1.0")) {
        if (!zframe_streq (frames [5], "CURVE") || zframe_size (frames [6]) != 32)
            text = "CURVE only";
        else {
            zmq_z85_encode (key, zframe_data (frames [6]), 32);
            const norc_principal_t *p = registry ? norc_registry_find (registry, key) : NULL;
            const char *why = "unknown key";
            ok = p && norc_principal_admitted (p, now_us, &why);
            text = ok ? "OK" : why;
        }
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    if (frames [1])
        zmsg_addmem (reply, zframe_data (frames [1]), zframe_size (frames [1]));
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, ok ? "200" : "400");
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, ok ? key : "");
    zmsg_addmem (reply, "", 0);
    if (admitted)
        *admitted = ok;
    return reply;
}

//  A refusal: said (at most a line every 10 s), and an unknown key is
//  recorded as pending
static void
s_refused (s_loader_t *loader, zmsg_t *request, zmsg_t *reply)
{
    static s_say_t said;
    zframe_t *frame = zmsg_first (request);
    for (int i = 0; i < 3 && frame; i++)
        frame = zmsg_next (request);                //  the address
    char *address = frame ? zframe_strdup (frame) : norc_strdup ("?");
    zmsg_first (reply);
    zmsg_next (reply);
    zmsg_next (reply);
    char *why = zframe_strdup (zmsg_next (reply));
    zframe_t *key_frame = zmsg_size (request) >= 7 ? zmsg_last (request) : NULL;
    char key [41] = "", fp [41] = "";
    if (key_frame && zframe_size (key_frame) == 32) {
        zmq_z85_encode (key, zframe_data (key_frame), 32);
        norc_key_fingerprint (key, fp);
    }
    //  Recorded as pending: twenty knocks a second at most (a flood of new
    //  keys costs the database nothing more, and handshakes no more wait)
    static norc_rate_t knocks;
    if (*fp && strcmp (why, "unknown key") == 0 && loader->source && norc_rate_allow (&knocks, 20))
        s_store->knock (loader->source, key, fp, address);
    if (s_say_now (&said)) {
        norc_log_warnx ("zap: refused a connection from %s, key fingerprint %s: %s (%lld more refusals not said; "
                        "at most a line every 10 s)", address, *fp ? fp : "none", why, (long long) said.quiet);
        said.quiet = 0;
    }
    free (why);
    free (address);
}

static void
s_handler_actor (zsock_t *pipe, void *arg)
{
    NORC_UNUSED (arg);
    zsock_t *zap = zsock_new_rep ("inproc://zeromq.zap.01");
    zsock_signal (pipe, zap ? 0 : 1);
    if (!zap)
        return;
    s_loader_t loader = { .cache_path = norc_asprintf ("%s/principals", s_keys_dir) };
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    while (true) {
        //  Awake every S_REFRESH_MS: a process that serves keeps its registry fresh
        int64_t wait = S_REFRESH_MS - (zclock_mono () - loader.read_at);
        zsock_t *which = (zsock_t *) zpoller_wait (poller, (int) (wait < 0 ? 0 : wait));
        if (which == pipe || (!which && !zpoller_expired (poller)))
            break;              //  $TERM, or interrupted
        if (zclock_mono () - loader.read_at >= S_REFRESH_MS) {
            if (s_serving)
                s_refresh (&loader);
            else
                loader.read_at = zclock_mono ();
        }
        if (which != zap)
            continue;
        zmsg_t *request = zmsg_recv (zap);
        if (!request)
            break;
        if (!s_registry)
            s_refresh (&loader);    //  the first request in a process that did not serve yet
        bool admitted;
        pthread_mutex_lock (&s_lock);
        zmsg_t *reply = norc_zap_answer (s_registry, request, zclock_time () * 1000, &admitted);
        pthread_mutex_unlock (&s_lock);
        if (!admitted && zclock_mono () - loader.read_at >= S_MISS_MS) {
            //  A key added a moment ago is admitted at once (a flood of
            //  unknown keys reads the registry ten times a second at most)
            s_refresh (&loader);
            zmsg_destroy (&reply);
            pthread_mutex_lock (&s_lock);
            reply = norc_zap_answer (s_registry, request, zclock_time () * 1000, &admitted);
            pthread_mutex_unlock (&s_lock);
        }
        if (!admitted)
            s_refused (&loader, request, reply);
        zmsg_send (&reply, zap);
        zmsg_destroy (&request);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&zap);
    if (loader.source)
        s_store->close (&loader.source);
    free (loader.cache_path);
    free (loader.cache_text);
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

void
norc_zap_use_store (const norc_zap_store_t *store)
{
    s_store = store;
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
    const char *name = *own ? own : role;
    //  An executor makes its own pair at its first start, and waits to be
    //  accepted (or enrols with a token: norc_link_enrol)
    char *path = norc_asprintf ("%s/%s.key_secret", dir, name);
    if (strcmp (role, "executor") == 0 && access (path, F_OK) != 0) {
        char public_txt [41], fp [41];
        if (norc_keys_generate (dir, name, NULL, public_txt, err, errsize) != NORC_OK) {
            free (path);
            return NORC_ERROR;
        }
        norc_key_fingerprint (public_txt, fp);
        norc_log_info ("curve: made this executor's key pair %s/%s.key, fingerprint %s: until it is accepted "
                       "(norcctl keys accept %.16s --name NAME --role executor) or enrolled with a token, the "
                       "servers refuse it", dir, name, fp, fp);
    }
    free (path);
    s_own = norc_keys_load (dir, name, true, err, errsize);
    if (!s_own)
        return NORC_ERROR;
    s_keys_dir = norc_strdup (dir);
    s_config = config;
    s_servers = zhashx_new ();
    s_server (config, "aggregator.events", "aggregator");
    s_server (config, "aggregator.api", "aggregator");
    s_server (config, "aggregator.stream", "aggregator");
    s_server (config, "scheduler.dispatch", "scheduler");
    s_server (config, "archiver.logs", "archiver");
    s_server (config, "archiver.fetch", "archiver");
    s_handler = zactor_new (s_handler_actor, NULL);
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
    norc_registry_destroy (&s_registry);
    zcert_destroy (&s_own);
    zhashx_destroy (&s_servers);
    zhashx_destroy (&s_admitted);
    free (s_keys_dir);
    s_keys_dir = NULL;
    s_config = NULL;
    s_serving = false;
}

uint64_t
norc_zap_withdrawals (void)
{
    return __atomic_load_n (&s_withdrawals, __ATOMIC_RELAXED);
}

bool
norc_zap_curve (void)
{
    return s_own != NULL;
}

const char *
norc_zap_own_key (void)
{
    return s_own ? zcert_public_txt (s_own) : NULL;
}

void
norc_zap_apply (zsock_t *sock, const char *endpoint, bool server)
{
    if (!s_own || strncmp (endpoint, "inproc://", 9) == 0)
        return;
    if (!server) {
        norc_zap_apply_as (sock, endpoint, s_own);
        return;
    }
    zcert_apply (s_own, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, "norc");
    s_serving = true;           //  the handler keeps the registry fresh from now
}

void
norc_zap_apply_as (zsock_t *sock, const char *endpoint, zcert_t *cert)
{
    if (!s_own || strncmp (endpoint, "inproc://", 9) == 0)
        return;
    cert = cert ? cert : s_own;
    zcert_apply (cert, sock);
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
norc_zap_allows (const char *user, uint32_t needs, norc_zap_who_t *who, const char **why)
{
    norc_zap_who_t none;
    who = who ? who : &none;
    memset (who, 0, sizeof *who);
    const char *reason = NULL;
    if (!s_own) {
        snprintf (who->name, sizeof who->name, "anonymous");
        if (why)
            *why = NULL;
        return true;
    }
    pthread_mutex_lock (&s_lock);
    const norc_principal_t *p = s_registry ? norc_registry_find (s_registry, user) : NULL;
    if (p) {
        snprintf (who->name, sizeof who->name, "%s", *p->name ? p->name : "?");
        snprintf (who->fingerprint, sizeof who->fingerprint, "%s", p->fingerprint);
        who->kind = p->kind;
        who->roles = p->roles;
        if (norc_principal_admitted (p, zclock_time () * 1000, &reason)
        &&  !norc_roles_allow (p->kind, p->roles, needs))
            reason = "its roles do not allow it";
    }
    else {
        snprintf (who->name, sizeof who->name, "?");
        reason = "unknown key";
    }
    pthread_mutex_unlock (&s_lock);
    if (why)
        *why = reason;
    return reason == NULL;
}

//  norc_keys.c - see norc_keys.h. czmq writes and reads the files (its
//  ZPL format, which other ZeroMQ tools read too); Norc adds what czmq
//  does not check: where the secret file may be read from, and never
//  replacing a pair that exists.
#include "norc_keys.h"
#include "norc_mem.h"
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int
norc_keys_generate (const char *dir, const char *name, const char *roles, char *public_txt, char *err,
                    size_t errsize)
{
    if (!*name || strchr (name, '/') || name [0] == '.') {
        snprintf (err, errsize, "bad key name \"%s\": a plain file name", name);
        return NORC_ERROR;
    }
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        snprintf (err, errsize, "cannot make %s: %s", dir, strerror (errno));
        return NORC_ERROR;
    }
    char *path = norc_asprintf ("%s/%s.key", dir, name);
    char *secret_path = norc_asprintf ("%s_secret", path);
    int rc = NORC_OK;
    if (access (path, F_OK) == 0 || access (secret_path, F_OK) == 0) {
        snprintf (err, errsize, "a key pair %s already exists in %s: it is never replaced (remove it first)",
                  name, dir);
        rc = NORC_CONFLICT;
    }
    zcert_t *cert = rc ? NULL : zcert_new ();
    if (cert) {
        zcert_set_meta (cert, "name", "%s", name);
        if (roles && *roles)
            zcert_set_meta (cert, "roles", "%s", roles);
        //  The secret file is never readable by others, not even for a moment
        mode_t old = umask (077);
        int saved = zcert_save (cert, path);
        umask (old);
        if (saved != 0) {
            snprintf (err, errsize, "cannot write %s: %s", path, strerror (errno));
            rc = NORC_ERROR;
        }
        else {
            chmod (path, 0644);     //  the public half is for sharing
            if (public_txt)
                snprintf (public_txt, 41, "%s", zcert_public_txt (cert));
        }
        zcert_destroy (&cert);
    }
    else
    if (!rc) {
        snprintf (err, errsize, "cannot make a key pair (is libzmq built with CURVE?)");
        rc = NORC_ERROR;
    }
    free (secret_path);
    free (path);
    return rc;
}

zcert_t *
norc_keys_load (const char *dir, const char *name, bool secret, char *err, size_t errsize)
{
    char *path = norc_asprintf ("%s/%s.key", dir, name);
    char *secret_path = norc_asprintf ("%s_secret", path);
    zcert_t *cert = NULL;
    struct stat st;
    if (secret) {
        if (stat (secret_path, &st) != 0)
            snprintf (err, errsize, "no secret key %s: %s", secret_path, strerror (errno));
        else
        if (st.st_uid != geteuid () && geteuid () != 0)
            snprintf (err, errsize, "secret key %s belongs to uid %d, not to this user: refused", secret_path,
                      (int) st.st_uid);
        else
        if (st.st_mode & 077)
            snprintf (err, errsize, "secret key %s can be read by others (mode %03o): refused; chmod 600 %s",
                      secret_path, (unsigned) (st.st_mode & 0777), secret_path);
        else {
            cert = zcert_load (path);
            if (!cert || (zcert_secret_key (cert) [0] == 0 && zcert_secret_key (cert) [1] == 0)) {
                zcert_destroy (&cert);
                snprintf (err, errsize, "cannot read the key pair in %s", secret_path);
            }
        }
    }
    else {
        //  The public file alone (czmq would take the secret too, when it is there)
        cert = stat (path, &st) == 0 ? zcert_load (path) : NULL;
        if (!cert)
            snprintf (err, errsize, "cannot read public key %s", path);
    }
    free (secret_path);
    free (path);
    return cert;
}

bool
norc_keys_curve_ready (char *err, size_t errsize)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    if (!zmq_has ("curve")) {
        snprintf (err, errsize, "this libzmq (%d.%d.%d) is built without CURVE", major, minor, patch);
        return false;
    }
    if (major * 10000 + minor * 100 + patch < 40303) {
        snprintf (err, errsize, "libzmq %d.%d.%d has CURVE flaws (CVE-2019-13132, CVE-2020-15166): "
                  "CURVE needs 4.3.3 or later", major, minor, patch);
        return false;
    }
    return true;
}

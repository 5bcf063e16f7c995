//  Unit tests: CURVE key pairs on disk (common/norc_keys.c), real files.
#include <criterion/criterion.h>
#include "norc_test.h"
#include <sys/stat.h>
#include <unistd.h>
#include "norc_keys.h"
#include "norc_mem.h"

Test (norc_keys, a_pair_is_made_private_loaded_and_never_replaced)
{
    char err [512];
    cr_assert (norc_keys_curve_ready (err, sizeof err), "this libzmq: %s", err);
    char *dir = norc_test_tmpdir ("keys");
    char *keys = norc_asprintf ("%s/keys", dir);
    char public_txt [41] = "";
    cr_assert_eq (norc_keys_generate (keys, "exec-1", NULL, public_txt, err, sizeof err), NORC_OK, "%s", err);
    cr_expect_eq (strlen (public_txt), 40, "Z85 of 32 bytes: %s", public_txt);
    struct stat st;
    cr_assert_eq (stat (keys, &st), 0);
    cr_expect_eq (st.st_mode & 0777, 0700, "the directory: %o", st.st_mode & 0777);
    char *secret = norc_asprintf ("%s/exec-1.key_secret", keys);
    cr_assert_eq (stat (secret, &st), 0);
    cr_expect_eq (st.st_mode & 0777, 0600, "the secret file: %o", st.st_mode & 0777);
    //  Never replaced
    cr_expect_eq (norc_keys_generate (keys, "exec-1", NULL, NULL, err, sizeof err), NORC_CONFLICT);
    cr_expect_not_null (strstr (err, "already exists"), "%s", err);
    cr_expect_eq (norc_keys_generate (keys, "../x", NULL, NULL, err, sizeof err), NORC_ERROR, "a path is not a name");
    //  Loaded whole, or public only
    zcert_t *cert = norc_keys_load (keys, "exec-1", true, err, sizeof err);
    cr_assert_not_null (cert, "%s", err);
    cr_expect_str_eq (zcert_public_txt (cert), public_txt);
    cr_expect_str_neq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000");
    zcert_destroy (&cert);
    cert = norc_keys_load (keys, "exec-1", false, err, sizeof err);
    cr_assert_not_null (cert, "%s", err);
    cr_expect_str_eq (zcert_public_txt (cert), public_txt);
    zcert_destroy (&cert);
    //  A secret others can read is refused, with the fix
    chmod (secret, 0640);
    cr_expect_null (norc_keys_load (keys, "exec-1", true, err, sizeof err));
    cr_expect_not_null (strstr (err, "can be read by others (mode 640)"), "%s", err);
    cr_expect_not_null (strstr (err, "chmod 600"), "%s", err);
    cr_expect_null (norc_keys_load (keys, "nope", true, err, sizeof err));
    cr_expect_not_null (strstr (err, "no secret key"), "%s", err);
    norc_test_rmdir (&dir);
    free (secret);
    free (keys);
}

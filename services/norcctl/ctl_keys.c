//  ctl_keys.c - norcctl keys list|pending|add|accept|reject|revoke|rotate|
//  token: the registry of principals, through the aggregator (an admin's
//  key, but rotate: anyone's own). keys gen and keys show work on the key
//  files alone (ctl_cmd.c).
#include "ctl_api_internal.h"
#include "norc_keys.h"
#include "norc_mem.h"
#include <errno.h>
#include <unistd.h>

//  keys add NAME (--key Z85 | --file NAME.key) --role ROLES [--kind K] [--expires S]
int
ctl_api_keys_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    //  --file: the public key file's key, sent as --key
    char **words = (char **) norc_calloc ((size_t) argc + 1, sizeof *words);
    char key [41] = "";
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp (argv [i], "--file") == 0 && i + 1 < argc) {
            zcert_t *cert = zcert_load (argv [++i]);
            if (!cert) {
                fprintf (stderr, "norcctl: cannot read a public key from %s\n", argv [i]);
                free (words);
                return CTL_USAGE;
            }
            snprintf (key, sizeof key, "%s", zcert_public_txt (cert));
            zcert_destroy (&cert);
            words [n++] = (char *) "--key";
            words [n++] = key;
        }
        else
            words [n++] = argv [i];
    }
    int rc = ctl_api_simple (config, n, words, cmd->op, cmd->pos, cmd->npos, cmd->flags, NULL, "added %s");
    free (words);
    return rc;
}

//  keys token NAME --role ROLES [--expires S]: prints the token alone
int
ctl_api_keys_token (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    norc_strmap_t args = { 0 };
    const char *pos [1];
    int npos;
    int rc = ctl_api_parse (argc, argv, cmd->flags, &args, pos, 1, &npos, NULL);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: keys token needs the NAME the enrolled key will have\n");
        rc = CTL_USAGE;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, "name", pos [0]);
        rc = ctl_api_request (config, "keys.token", &args, &reply);
    }
    if (rc == CTL_OK && reply->api_reply.rows.count)
        printf ("%s\n", norc_strmap_get (&reply->api_reply.rows.rows [0], "token"));
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

//  token add NAME --role ROLES [--expires S]: an API token for HTTP
//  (norc-web); prints the secret alone, the only time it is shown
int
ctl_api_token_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    norc_strmap_t args = { 0 };
    const char *pos [1];
    int npos;
    bool json = false;
    int rc = ctl_api_parse (argc, argv, cmd->flags, &args, pos, 1, &npos, &json);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: token add needs the token's NAME\n");
        rc = CTL_USAGE;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, "name", pos [0]);
        rc = ctl_api_request (config, "token.add", &args, &reply);
    }
    if (rc == CTL_OK && json)
        ctl_print_json (stdout, "token.add", &reply->api_reply.rows);
    else
    if (rc == CTL_OK && reply->api_reply.rows.count)
        printf ("%s\n", norc_strmap_get (&reply->api_reply.rows.rows [0], "token"));
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

//  user add NAME --role ROLES: a local user of the page; its password is
//  the first line of the standard input (never an argument: arguments are
//  seen by every process of the host)
int
ctl_api_user_add (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    norc_strmap_t args = { 0 };
    const char *pos [1];
    int npos;
    int rc = ctl_api_parse (argc, argv, cmd->flags, &args, pos, 1, &npos, NULL);
    if (rc == CTL_OK && npos != 1) {
        fprintf (stderr, "norcctl: user add needs the user's NAME (the password on the standard input)\n");
        rc = CTL_USAGE;
    }
    char password [1024] = "";
    if (rc == CTL_OK) {
        if (isatty (STDIN_FILENO))
            fprintf (stderr, "password for %s: ", pos [0]);
        if (!fgets (password, sizeof password, stdin) || !*password) {
            fprintf (stderr, "norcctl: user add reads the password from the standard input\n");
            rc = CTL_USAGE;
        }
        password [strcspn (password, "\r\n")] = 0;
    }
    norc_msg_t *reply = NULL;
    if (rc == CTL_OK) {
        norc_strmap_set (&args, "name", pos [0]);
        norc_strmap_set (&args, "password", password);
        rc = ctl_api_request (config, "user.add", &args, &reply);
    }
    if (rc == CTL_OK)
        printf ("user %s added\n", pos [0]);
    memset (password, 0, sizeof password);
    norc_msg_destroy (&reply);
    norc_strmap_clear (&args);
    return rc;
}

//  keys rotate [PAIR] [--principal NAME] [--overlap S] [--dir DIR]: a new
//  pair for PAIR (default: this norcctl's own), registered for the
//  principal (default: the caller), then put in the old one's place (the
//  old files kept as PAIR.key.old and PAIR.key_secret.old)
int
ctl_api_keys_rotate (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv)
{
    //  --dir is norcctl's own, not the request's
    const char *dir_flag = NULL;
    char **words = (char **) norc_calloc ((size_t) argc + 1, sizeof *words);
    int n = 0;
    for (int i = 0; i < argc; i++)
        if (strcmp (argv [i], "--dir") == 0 && i + 1 < argc)
            dir_flag = argv [++i];
        else
            words [n++] = argv [i];
    norc_strmap_t args = { 0 };
    const char *pos [1];
    int npos = 0;
    int rc = ctl_api_parse (n, words, cmd->flags, &args, pos, 1, &npos, NULL);
    const char *own = norc_config_str (config, "security.key");
    const char *pair = npos ? pos [0] : *own ? own : "norcctl";
    char *dir = norc_strdup (dir_flag ? dir_flag : norc_config_str (config, "security.keys_dir"));
    free (words);
    char *next = norc_asprintf ("%s.next", pair);
    char err [512], public_txt [41];
    if (rc == CTL_OK && norc_keys_generate (dir, next, NULL, public_txt, err, sizeof err) != NORC_OK) {
        fprintf (stderr, "norcctl: %s\n", err);
        rc = CTL_FAIL;
    }
    if (rc == CTL_OK) {
        norc_strmap_set (&args, "key", public_txt);
        rc = ctl_api_request (config, "keys.rotate", &args, NULL);
        char *paths [2][3] = {
            { norc_asprintf ("%s/%s.key", dir, pair), norc_asprintf ("%s/%s.key.old", dir, pair),
              norc_asprintf ("%s/%s.key", dir, next) },
            { norc_asprintf ("%s/%s.key_secret", dir, pair), norc_asprintf ("%s/%s.key_secret.old", dir, pair),
              norc_asprintf ("%s/%s.key_secret", dir, next) },
        };
        for (int f = 0; f < 2; f++) {
            if (rc == CTL_OK) {
                rename (paths [f][0], paths [f][1]);
                if (rename (paths [f][2], paths [f][0]) != 0) {
                    fprintf (stderr, "norcctl: cannot put %s in place: %s\n", paths [f][2], strerror (errno));
                    rc = CTL_FAIL;
                }
            }
            else
                unlink (paths [f][2]);      //  not registered: the new pair goes
            for (int i = 0; i < 3; i++)
                free (paths [f][i]);
        }
        if (rc == CTL_OK)
            printf ("rotated %s: new public key %s (the old key stays valid for the overlap)\n", pair, public_txt);
    }
    free (next);
    free (dir);
    norc_strmap_clear (&args);
    return rc;
}

//  norc_config.h - configuration from defaults, an optional file, the
//  environment and command-line flags, in that order of precedence (later
//  wins). Every key, its default and meaning is in one table in
//  norc_config.c and in docs/configuration.md.
//
//  Key "db.url" is NORC_DB_URL in the environment, "db.url = ..." in the
//  file and --db-url=VALUE or --db-url VALUE on the command line.
#ifndef NORC_CONFIG_H_INCLUDED
#define NORC_CONFIG_H_INCLUDED
#include "norc.h"

typedef struct _norc_config_t norc_config_t;

//  A configuration holding the defaults.
norc_config_t *norc_config_new (void);
void           norc_config_destroy (norc_config_t **self_p);

//  Set one key from text. NORC_ERROR for an unknown key or a bad value,
//  with a message naming both in errstr.
int  norc_config_set (norc_config_t *self, const char *key, const char *value);

//  Read "key = value" lines (# comments). NORC_ERROR names file, line, key.
int  norc_config_load_file (norc_config_t *self, const char *path);

//  Apply every NORC_<KEY> environment variable that names a known key.
int  norc_config_load_env (norc_config_t *self);

//  Take --key=value / --key value flags for known keys out of argv; other
//  arguments stay, in order, for the caller (*argc is updated). "--config
//  FILE" loads a file. NORC_ERROR names the flag and its bad value.
int  norc_config_load_args (norc_config_t *self, int *argc, char **argv);

//  All sources in order: file (NORC_CONFIG or --config), env, flags.
int  norc_config_load (norc_config_t *self, int *argc, char **argv);

const char *norc_config_errstr (norc_config_t *self);

//  Typed reads. The key must exist (asserted: a programming error).
const char *norc_config_str (norc_config_t *self, const char *key);
int64_t     norc_config_int (norc_config_t *self, const char *key);
bool        norc_config_bool (norc_config_t *self, const char *key);

//  The endpoint to bind for a key: the key's endpoint, with its host
//  replaced by listen.host when that is set (so "tcp://aggregator:7601"
//  binds as "tcp://*:7601"). Caller owns the result. NULL (the reason
//  logged) when others could reach it (norc_zmq_exposed) and
//  security.insecure is not set.
char *norc_config_bind_endpoint (norc_config_t *self, const char *key);

//  Write the key table as Markdown (for docs/configuration.md).
void norc_config_print_markdown (FILE *out);

//  True when the key exists.
bool norc_config_known (const char *key);

#endif

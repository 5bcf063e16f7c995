//  ctl_api_internal.h - what norcctl's command files share: one request to
//  the aggregator and its printing (ctl_api.c).
#ifndef CTL_API_INTERNAL_H_INCLUDED
#define CTL_API_INTERNAL_H_INCLUDED
#include "ctl_cmd.h"
#include "ctl_commands.h"
#include "ctl_print.h"
#include "norc_msg.h"

//  Parse words: flags from the table into args, the rest into positional.
//  Returns CTL_OK or CTL_USAGE (printed).
int ctl_api_parse (int argc, char **argv, const ctl_flag_t *flags, norc_strmap_t *args,
                   const char **positional, int max_positional, int *npositional, bool *json);

//  Ask the aggregator. Returns the reply (caller destroys) or NULL after
//  printing why.
norc_msg_t *ctl_api_call (norc_config_t *config, const char *op, norc_strmap_t *args);

//  Send op with args; print an error reply and return the exit code;
//  *reply_p gets the API-REPLY on success (caller destroys; may be NULL to
//  discard).
int ctl_api_request (norc_config_t *config, const char *op, norc_strmap_t *args, norc_msg_t **reply_p);

//  CTL_USAGE (printed) when key is "id" and text is not an id.
int ctl_api_check_id (const char *key, const char *text);

//  A command with N required positional words mapped to keys, flags, and
//  an output: columns (table) or a one-line message.
int ctl_api_simple (norc_config_t *config, int argc, char **argv, const char *op, const char **keys,
                    int required, const ctl_flag_t *flags, const ctl_column_t *columns, const char *done);

//  A command with N positional words mapped to keys whose answer is a
//  record, printed a field per line.
int ctl_api_print_record (norc_config_t *config, int argc, char **argv, const char *op, const char **keys,
                          int required);

#endif

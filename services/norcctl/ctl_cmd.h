//  ctl_cmd.h - norcctl's command table: one grammar line and one handler
//  per command, in the manner of smtpctl.
#ifndef CTL_CMD_H_INCLUDED
#define CTL_CMD_H_INCLUDED
#include "norc.h"
#include "norc_config.h"
#include "ctl_print.h"

//  Exit codes
#define CTL_OK      0
#define CTL_FAIL    1
#define CTL_USAGE   2

//  A flag a command takes
typedef struct {
    const char *flag;           //  "--period"
    const char *key;            //  API argument
    bool has_value;             //  false: a switch, sets "1"
} ctl_flag_t;

typedef struct _ctl_command_t ctl_command_t;

//  A command's handler: the words after the command's own, the exit code
typedef int (ctl_handler_fn) (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv);

//  A command, generated from the <command> elements of proto/norc_api.xml
//  (ctl_commands.inc)
struct _ctl_command_t {
    const char *words;          //  command words, e.g. "cron next"
    const char *args;           //  argument synopsis
    const char *help;           //  one line
    const char *options;        //  "FLAG\tmeaning" lines
    const char *example;        //  one command line
    ctl_handler_fn *handler;    //  NULL: ctl_api_command
    const char *op;             //  the operation it asks (NULL: none)
    const char **pos;           //  the arguments its positional words give
    int npos;
    const ctl_flag_t *flags;    //  the options that give arguments
    const ctl_column_t *table;  //  its reply as a table (NULL: done, or a record)
    bool record;                //  its reply's first row, a field a line
    const char *done;           //  its one line once done ("%s": the first word, then the id)
    bool local;                 //  it works on this host alone (no key needed)
};

//  The generic command: its words and options make op's arguments; its
//  reply is printed as the command says (ctl_api.c).
int ctl_api_command (norc_config_t *config, const ctl_command_t *cmd, int argc, char **argv);

//  The reply table of op (NULL: none), from the schema.
const ctl_column_t *ctl_api_table (const char *op);

//  Run the command named by argv (after the program name and the config
//  flags were taken out). Returns the exit code.
int ctl_cmd_run (norc_config_t *config, int argc, char **argv);

//  Whether the command named by argv talks to Norc's servers (every
//  command but those this file runs on the host alone: keys gen and show,
//  db, cron, config, health, version, help).
bool ctl_cmd_talks (int argc, char **argv);

//  Print the usage text to out.
void ctl_cmd_usage (FILE *out);

#endif

//  ctl_cmd.h - norcctl's command table: one grammar line and one handler
//  per command, in the manner of smtpctl.
#ifndef CTL_CMD_H_INCLUDED
#define CTL_CMD_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

//  Exit codes
#define CTL_OK      0
#define CTL_FAIL    1
#define CTL_USAGE   2

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

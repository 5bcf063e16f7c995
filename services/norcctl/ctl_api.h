//  ctl_api.h - norcctl commands that talk to the running services.
#ifndef CTL_API_H_INCLUDED
#define CTL_API_H_INCLUDED
#include "norc.h"
#include "norc_config.h"

int ctl_api_queue_add (norc_config_t *config, int argc, char **argv);
int ctl_api_queue_list (norc_config_t *config, int argc, char **argv);
int ctl_api_queue_rm (norc_config_t *config, int argc, char **argv);
int ctl_api_group_add (norc_config_t *config, int argc, char **argv);
int ctl_api_task_add (norc_config_t *config, int argc, char **argv);
int ctl_api_job_add (norc_config_t *config, int argc, char **argv);
int ctl_api_job_show (norc_config_t *config, int argc, char **argv);
int ctl_api_task_list (norc_config_t *config, int argc, char **argv);
int ctl_api_task_show (norc_config_t *config, int argc, char **argv);
int ctl_api_task_rm (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_add (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_list (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_show (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_rm (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_pause (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_resume (norc_config_t *config, int argc, char **argv);
int ctl_api_schedule_history (norc_config_t *config, int argc, char **argv);
int ctl_api_run (norc_config_t *config, int argc, char **argv);
int ctl_api_status (norc_config_t *config, int argc, char **argv);
int ctl_api_instance_show (norc_config_t *config, int argc, char **argv);
int ctl_api_instance_kill (norc_config_t *config, int argc, char **argv);
int ctl_api_instance_handle (norc_config_t *config, int argc, char **argv);
int ctl_api_instance_rerun (norc_config_t *config, int argc, char **argv);
int ctl_api_logs (norc_config_t *config, int argc, char **argv);
int ctl_api_events (norc_config_t *config, int argc, char **argv);
int ctl_api_control (norc_config_t *config, int argc, char **argv);
int ctl_api_audit_list (norc_config_t *config, int argc, char **argv);
int ctl_api_audit_verify (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_list (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_pending (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_add (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_accept (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_reject (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_revoke (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_rotate (norc_config_t *config, int argc, char **argv);
int ctl_api_keys_token (norc_config_t *config, int argc, char **argv);
int ctl_api_token_add (norc_config_t *config, int argc, char **argv);
int ctl_api_token_list (norc_config_t *config, int argc, char **argv);
int ctl_api_token_revoke (norc_config_t *config, int argc, char **argv);
int ctl_api_user_add (norc_config_t *config, int argc, char **argv);
int ctl_api_user_list (norc_config_t *config, int argc, char **argv);
int ctl_api_user_rm (norc_config_t *config, int argc, char **argv);

#endif

//  norc_control.h - the daemons' side of a control request (CONTROL):
//  the answer every daemon gives the same way.
#ifndef NORC_CONTROL_H_INCLUDED
#define NORC_CONTROL_H_INCLUDED
#include "norc_msg.h"

//  Answer `request` on sock (the daemon's events connection): accepted
//  unless `refused` names the reason; `status` is the daemon's status
//  after acting.
void norc_control_reply (zsock_t *sock, const norc_control_t *request, uint64_t daemon_id, int status,
                         const char *refused);

#endif

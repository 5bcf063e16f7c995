//  norc_moto.h - moto's server (PyPI moto[server], installed by the test
//  command) on loopback for one test, with signature checking on: its
//  first three requests go unsigned and make an IAM user allowed
//  everything and its key; every request after that must be signed with
//  that key. tests/aws/moto_tool.py is moto's side: boto3, an independent
//  client, makes queues and reads back what Norc wrote.
#ifndef NORC_MOTO_H_INCLUDED
#define NORC_MOTO_H_INCLUDED
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char *endpoint;             //  http://127.0.0.1:PORT
    char key [64];
    char secret [128];
} norc_moto_t;

//  Start the server and make the user (fails the test when it cannot)
norc_moto_t *norc_moto_start (void);
//  The same, listening on host (containers reach "0.0.0.0" through their
//  gateway; the endpoint still names 127.0.0.1)
norc_moto_t *norc_moto_start_on (const char *host);
void norc_moto_stop (norc_moto_t **self_p);

//  moto_tool.py WHAT ENDPOINT KEY SECRET ARGS... (NULL-terminated): its
//  first line of output (caller frees); fails the test when it fails.
char *norc_moto_tool (norc_moto_t *self, const char *what, ...);

#endif

//  norc_aws_creds.h - who Norc is to AWS: the credential chain, in the
//  order AWS's own SDKs follow it, each source tried when the one before
//  has nothing:
//
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for
//     temporary credentials, AWS_SESSION_TOKEN;
//  2. the configuration: aws.access_key_id, with its secret in the file
//     aws.secret_access_key_file (kept out of the environment and the
//     command line, as db.password_file);
//  3. the container credentials endpoint (ECS, EKS Pod Identity):
//     AWS_CONTAINER_CREDENTIALS_FULL_URI, or http://169.254.170.2 followed
//     by AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with the Authorization
//     header from AWS_CONTAINER_AUTHORIZATION_TOKEN or the file
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
//  4. the instance metadata service, IMDSv2 only (a session token PUT
//     first, then the role's credentials), at http://169.254.169.254 or
//     AWS_EC2_METADATA_SERVICE_ENDPOINT; never when
//     AWS_EC2_METADATA_DISABLED is true.
//
//  Credentials from 3 and 4 expire; they are made again before they do
//  (norc_aws_creds_due). Nothing here logs or returns a secret.
#ifndef NORC_AWS_CREDS_H_INCLUDED
#define NORC_AWS_CREDS_H_INCLUDED
#include "norc.h"

typedef struct {
    char access_key [128];
    char secret_key [128];
    char session_token [4096];  //  "" for long-term credentials
    norc_us_t obtained;         //  wall clock
    norc_us_t expires;          //  wall clock; 0: they do not
    char source [32];           //  "environment", "configuration", "container", "instance metadata"
} norc_aws_creds_t;

//  The configuration's part of the chain (NULL or "": none)
typedef struct {
    const char *access_key_id;
    const char *secret_file;
    long timeout_ms;            //  each request to an endpoint (0: 1 s)
} norc_aws_creds_config_t;

//  Walk the chain: NORC_OK with creds filled, or NORC_ERROR with why (what
//  each source lacked; never a secret).
int norc_aws_creds_get (const norc_aws_creds_config_t *config, norc_aws_creds_t *creds, char *why, size_t whysize);

//  Whether credentials should be made again now: they expire within five
//  minutes, or have used half their life (short-lived ones).
bool norc_aws_creds_due (const norc_aws_creds_t *creds, norc_us_t now);

//  Seconds since the epoch of an ISO-8601 UTC time ("2026-12-04T18:30:00Z"),
//  as microseconds; 0 when it is not one.
norc_us_t norc_aws_creds_time (const char *text);

#endif

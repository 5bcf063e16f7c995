#!/usr/bin/env python3
"""The two places a host's AWS credentials come from, played on loopback for
tests/e2e/test_sqs_bridge.c: the container credentials endpoint (GET /creds,
with its Authorization token) and the instance metadata service, IMDSv2 only
(PUT /latest/api/token, then GET /latest/meta-data/iam/security-credentials/
and .../ROLE with that token). Each answer holds temporary credentials of a
role assumed from moto's STS (boto3), so moto checks their session token, and
says they expire in EXPIRES seconds, so a client must make them again.
GET /hits tells how many credentials each place gave.

  fake_metadata.py MOTO-ENDPOINT KEY SECRET PORT TOKEN EXPIRES
"""
import datetime
import http.server
import json
import sys

import boto3

endpoint, key, secret, port, token, expires = sys.argv[1:7]
hits = {"container": 0, "imds": 0}


def client(service):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


iam = client("iam")
role = iam.create_role(RoleName="norc-bridge", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName="norc-bridge", PolicyName="all", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
sts = client("sts")


def credentials():
    c = sts.assume_role(RoleArn=role, RoleSessionName="norc-bridge")["Credentials"]
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(expires))
    return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c["AccessKeyId"],
                       "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                       "Expiration": until.strftime("%Y-%m-%dT%H:%M:%SZ")})


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.answer(200, "imds-session-token")
        else:
            self.answer(400, "")

    def do_GET(self):
        imds = self.headers.get("X-aws-ec2-metadata-token") == "imds-session-token"
        if self.path == "/hits":
            self.answer(200, json.dumps(hits))
        elif self.path == "/creds" and self.headers.get("Authorization") == token:
            hits["container"] += 1
            self.answer(200, credentials())
        elif self.path == "/latest/meta-data/iam/security-credentials/" and imds:
            self.answer(200, "norc-bridge")
        elif self.path == "/latest/meta-data/iam/security-credentials/norc-bridge" and imds:
            hits["imds"] += 1
            self.answer(200, credentials())
        else:
            self.answer(401 if self.path.startswith("/latest") else 403, "")


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()

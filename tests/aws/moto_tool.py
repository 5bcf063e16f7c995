#!/usr/bin/env python3
"""moto's side of tests/e2e/test_aws_moto.c, with boto3 as an independent
client of the same server.

  moto_tool.py user ENDPOINT            an IAM user allowed everything, and its
                                        key: prints "KEY SECRET" (the server's
                                        first three requests go unsigned:
                                        INITIAL_NO_AUTH_ACTION_COUNT=3)
  moto_tool.py object ENDPOINT KEY SECRET BUCKET NAME
                                        the object's SHA-256, read by boto3
  moto_tool.py receive ENDPOINT KEY SECRET QUEUE
                                        the body of a message received by boto3
"""
import hashlib
import json
import sys

import boto3


def client(service, endpoint, key="testing", secret="testing"):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def main():
    what, endpoint = sys.argv[1], sys.argv[2]
    if what == "user":
        iam = client("iam", endpoint)
        iam.create_user(UserName="norc")
        iam.put_user_policy(UserName="norc", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="norc")["AccessKey"]
        print(key["AccessKeyId"], key["SecretAccessKey"])
    elif what == "object":
        key, secret, bucket, name = sys.argv[3:7]
        body = client("s3", endpoint, key, secret).get_object(Bucket=bucket, Key=name)["Body"].read()
        print(hashlib.sha256(body).hexdigest())
    elif what == "receive":
        key, secret, queue = sys.argv[3:6]
        sqs = client("sqs", endpoint, key, secret)
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        print(messages[0]["Body"] if messages else "")


if __name__ == "__main__":
    main()

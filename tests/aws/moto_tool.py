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
  moto_tool.py queue ENDPOINT KEY SECRET NAME [MAX_RECEIVES]
                                        a queue (a .fifo NAME: a FIFO queue) and,
                                        with MAX_RECEIVES, its dead-letter queue
                                        NAME-dlq (NAME-dlq.fifo) and redrive
                                        policy: prints the queue's URL
  moto_tool.py send ENDPOINT KEY SECRET URL BODY
                                        a message, sent by boto3 (to a FIFO
                                        queue: in group "test")
  moto_tool.py count ENDPOINT KEY SECRET URL
                                        messages in the queue, visible and not:
                                        prints "VISIBLE INFLIGHT"
  moto_tool.py bucket ENDPOINT KEY SECRET BUCKET
                                        a bucket
  moto_tool.py head ENDPOINT KEY SECRET BUCKET NAME
                                        the object as boto3 sees it: prints
                                        "SIZE METADATA-SHA256 ETAG TYPE" ("-" for
                                        no metadata; a multipart object's ETag
                                        ends in -PARTS)
  moto_tool.py put ENDPOINT KEY SECRET BUCKET NAME BODY
                                        an object, written by boto3 (over
                                        whatever was there)
  moto_tool.py uploads ENDPOINT KEY SECRET BUCKET [PREFIX]
                                        multipart uploads in progress (under
                                        PREFIX): prints "UPLOADS PARTS" (the
                                        parts of all of them)
  moto_tool.py upload ENDPOINT KEY SECRET BUCKET NAME
                                        a multipart upload started by boto3,
                                        with one part, left in progress
  moto_tool.py bodies ENDPOINT KEY SECRET URL
                                        the bodies of the messages received from
                                        the queue in one second, on one line
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
    elif what == "queue":
        key, secret, name = sys.argv[3:6]
        sqs = client("sqs", endpoint, key, secret)
        fifo = name.endswith(".fifo")
        attributes = {"FifoQueue": "true"} if fifo else {}
        if len(sys.argv) > 6:
            dlq_name = name[:-5] + "-dlq.fifo" if fifo else name + "-dlq"
            dlq = sqs.create_queue(QueueName=dlq_name, Attributes=dict(attributes))["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": sys.argv[6]})
        print(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    elif what == "send":
        key, secret, url, body = sys.argv[3:7]
        fifo = {"MessageGroupId": "test", "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest()} \
            if url.endswith(".fifo") else {}
        print(client("sqs", endpoint, key, secret).send_message(QueueUrl=url, MessageBody=body, **fifo)["MessageId"])
    elif what == "count":
        key, secret, url = sys.argv[3:6]
        a = client("sqs", endpoint, key, secret).get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        print(a["Attributes"]["ApproximateNumberOfMessages"], a["Attributes"]["ApproximateNumberOfMessagesNotVisible"])
    elif what == "bucket":
        key, secret, bucket = sys.argv[3:6]
        client("s3", endpoint, key, secret).create_bucket(Bucket=bucket)
        print(bucket)
    elif what == "head":
        key, secret, bucket, name = sys.argv[3:7]
        h = client("s3", endpoint, key, secret).head_object(Bucket=bucket, Key=name)
        print(h["ContentLength"], h.get("Metadata", {}).get("sha256", "-"), h["ETag"].strip('"'), h["ContentType"])
    elif what == "put":
        key, secret, bucket, name, body = sys.argv[3:8]
        client("s3", endpoint, key, secret).put_object(Bucket=bucket, Key=name, Body=body.encode(),
                                                       Metadata={"sha256": hashlib.sha256(body.encode()).hexdigest()})
        print(name)
    elif what == "uploads":
        key, secret, bucket = sys.argv[3:6]
        s3 = client("s3", endpoint, key, secret)
        prefix = sys.argv[6] if len(sys.argv) > 6 else ""
        # (filtered here: moto refuses the signature of a Prefix holding "/")
        uploads = [u for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) if u["Key"].startswith(prefix)]
        parts = sum(len(s3.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", []))
                    for u in uploads)
        print(len(uploads), parts)
    elif what == "upload":
        key, secret, bucket, name = sys.argv[3:7]
        s3 = client("s3", endpoint, key, secret)
        upload = s3.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]
        s3.upload_part(Bucket=bucket, Key=name, UploadId=upload, PartNumber=1, Body=b"x" * 5242880)
        print(upload)
    elif what == "bodies":
        key, secret, url = sys.argv[3:6]
        messages = client("sqs", endpoint, key, secret).receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        print(" ".join(m["Body"] for m in messages))


if __name__ == "__main__":
    main()

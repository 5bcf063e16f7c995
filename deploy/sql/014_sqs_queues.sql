-- A queue of kind sqs (2) is carried by Amazon SQS: its URL is part of its
-- definition, so the bridges on every site learn it from the record.
ALTER TABLE queues ADD COLUMN url VARCHAR(1024) NULL AFTER kind;

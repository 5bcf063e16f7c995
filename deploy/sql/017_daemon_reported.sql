-- What a daemon reported at its last heartbeat, for the daemons whose load
-- the record cannot count from instances: a log-archiver's backlog (logs
-- owed to S3). Written with the heartbeat, in the same statement.
ALTER TABLE daemons
    ADD COLUMN reported INT NOT NULL DEFAULT 0 AFTER heartbeat;

-- A log copied to S3 by the log-archiver: where (the object's key, made
-- from the instance id alone), how many bytes and their SHA-256, so that
-- a reader can check the object against the record (norcctl logs verify).
-- A table of its own: the instances table, written on every tick, does
-- not grow for a feature a deployment may not use.
CREATE TABLE log_archives (
    instance_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    object_key      VARCHAR(1024) NOT NULL,
    size            BIGINT UNSIGNED NOT NULL,
    sha256          CHAR(64) NOT NULL,
    archived_at     DATETIME(6) NOT NULL,
    CONSTRAINT log_archives_instance FOREIGN KEY (instance_id) REFERENCES instances (id) ON DELETE CASCADE
) ENGINE=InnoDB;

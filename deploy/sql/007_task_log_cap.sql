-- A task's own cap on the size of its log, in bytes. 0 leaves it to the
-- executor's default (executor.log_max_bytes). Past the cap the log keeps
-- its head and its last bytes and says how much was cut between them.
ALTER TABLE tasks
    ADD COLUMN log_max_bytes BIGINT NOT NULL DEFAULT 0 AFTER timeout_s;

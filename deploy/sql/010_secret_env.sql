-- A task's environment value marked secret: given to the task, never
-- shown (norcctl task show, the API, the audit's states say "(secret)").
ALTER TABLE task_env
    ADD COLUMN secret TINYINT(1) NOT NULL DEFAULT 0 AFTER value;

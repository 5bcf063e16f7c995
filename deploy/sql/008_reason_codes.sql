-- Why an instance ended as it did, as a code (norc_why_t in common/norc.h):
-- policy (whether a run is tried again, whether an executor's late end
-- replaces the record's guess) reads this, never the reason's text.
-- 0 exit, 1 signal, 2 timeout, 3 kill-request, 4 interrupted,
-- 5 heartbeat-lost, 6 executor-died, 7 spawn-failed, 8 cancelled, 9 job.
ALTER TABLE instances
    ADD COLUMN reason_code TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER reason;

-- Rows written before the code existed: the codes their texts meant
UPDATE instances SET reason_code = 5 WHERE status = 14 AND reason LIKE 'executor lost: no heartbeat%';
UPDATE instances SET reason_code = 6 WHERE status = 14 AND reason LIKE 'executor lost while%';
UPDATE instances SET reason_code = 2 WHERE status = 15;
UPDATE instances SET reason_code = 3 WHERE status = 9 AND reason LIKE 'killed on request%';
UPDATE instances SET reason_code = 4 WHERE status = 16;
UPDATE instances SET reason_code = 7 WHERE status = 14 AND reason LIKE 'cannot start%';
UPDATE instances SET reason_code = 8 WHERE status = 9 AND started_at IS NULL;
UPDATE instances SET reason_code = 9 WHERE status = 10 OR (job_instance_id IS NULL AND task_id IN
    (SELECT id FROM tasks WHERE kind = 2) AND status >= 9 AND reason IS NOT NULL);

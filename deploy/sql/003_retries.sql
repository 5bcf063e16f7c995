-- Retries: each attempt is its own instance, linked to the one it retries
-- (retry_of, unique: one retry per failed attempt whatever is resent) and
-- to the same tick (schedule_id, nominal, attempt + 1). not_before holds
-- the backoff: the dispatcher hands it out no earlier.
ALTER TABLE instances
    ADD COLUMN not_before DATETIME(6) NULL,
    ADD COLUMN retry_of BIGINT UNSIGNED NULL,
    ADD UNIQUE KEY instances_retry (retry_of);

-- One lease per scheduler (docs/scale.md): renewing it costs
-- one row whatever the scheduler holds. A schedule is free when it has no
-- owner or its owner's lease has expired; its epoch still fences every
-- tick. lease_claim marks the rows one claim took (read back at once);
-- changed_at marks a pause, resume or delete, so a scheduler finds the
-- changes to what it holds without reading all of it.
CREATE TABLE scheduler_leases (
    owner   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    until   DATETIME(6) NOT NULL,
    KEY scheduler_leases_until (until)
) ENGINE=InnoDB;

INSERT INTO scheduler_leases (owner, until)
    SELECT lease_owner, MAX(COALESCE(lease_until, '1970-01-01')) FROM schedules
    WHERE lease_owner IS NOT NULL GROUP BY lease_owner;

ALTER TABLE schedules
    ADD COLUMN lease_claim BIGINT UNSIGNED NULL AFTER lease_epoch,
    ADD COLUMN changed_at DATETIME(6) NULL AFTER lease_claim,
    DROP KEY schedules_claim,
    DROP KEY schedules_owner,
    ADD KEY schedules_owner (lease_owner, lease_claim),
    ADD KEY schedules_changed (lease_owner, changed_at);

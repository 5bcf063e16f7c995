-- Schedules are held by shard (docs/scale.md): 1,024 shards, each owned by
-- one scheduler at an epoch bumped by every claim. Claiming or taking over
-- a million schedules writes at most 1,024 rows; a tick is fenced by its
-- shard's owner and epoch, under a shared lock on the shard row. A
-- schedule's shard is fixed when it is written (spread at random).
CREATE TABLE schedule_shards (
    shard   SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
    owner   BIGINT UNSIGNED NULL,
    epoch   BIGINT UNSIGNED NOT NULL DEFAULT 0,
    claim   BIGINT UNSIGNED NULL,
    KEY schedule_shards_owner (owner, claim)
) ENGINE=InnoDB;

INSERT INTO schedule_shards (shard)
    WITH RECURSIVE d (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i < 31)
    SELECT a.i * 32 + b.i FROM d a CROSS JOIN d b;

ALTER TABLE schedules
    ADD COLUMN shard SMALLINT UNSIGNED NOT NULL DEFAULT (FLOOR(RAND() * 1024)) AFTER lease_claim,
    ALTER COLUMN lease_owner SET DEFAULT 0,
    DROP KEY schedules_owner,
    DROP KEY schedules_changed,
    ADD KEY schedules_shard (shard, deleted_at),
    ADD KEY schedules_changed (changed_at);

-- The per-schedule lease columns are no longer used. A scheduler of an
-- older version still running during the upgrade must hold nothing: every
-- schedule goes to owner 0, whose lease never ends, at a new epoch (its
-- fence then matches no row, and it finds nothing free to claim).
UPDATE schedules SET shard = id % 1024, lease_owner = 0, lease_epoch = lease_epoch + 1, lease_claim = NULL;

INSERT INTO scheduler_leases (owner, until) VALUES (0, '9999-12-31 00:00:00')
    ON DUPLICATE KEY UPDATE until = VALUES(until);

-- The tick ledger records runs, not single ticks: consecutive ticks of a
-- schedule skipped or missed for the same reason are one row, from
-- nominal (the first) to last_nominal, tick_count of them. An outage or
-- a far-past start writes a row, not one per period. The key on
-- (schedule_id, last_nominal) finds the row a new run continues.
ALTER TABLE ticks
    ADD COLUMN last_nominal DATETIME(6) NULL AFTER nominal,
    ADD COLUMN tick_count BIGINT UNSIGNED NOT NULL DEFAULT 1 AFTER last_nominal;
UPDATE ticks SET last_nominal = nominal;
ALTER TABLE ticks
    MODIFY last_nominal DATETIME(6) NOT NULL,
    ADD KEY ticks_last (schedule_id, last_nominal);

-- Named leases for roles that one daemon holds at a time. The first is
-- "dispatch": the scheduler that hands out work to executors. The holder
-- renews it; once `until` has passed (or the aggregator found the holder
-- dead and cleared it) another daemon takes it and the epoch goes up.
CREATE TABLE leases (
    name        VARCHAR(64) NOT NULL PRIMARY KEY,
    holder      BIGINT UNSIGNED NULL,
    epoch       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    until       DATETIME(6) NULL,
    KEY leases_holder (holder)
) ENGINE=InnoDB;

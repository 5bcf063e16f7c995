-- The audit: every change made through the API and every refusal of one,
-- append-only and hash-chained. Each row's hash is SHA-256 over the
-- previous row's hash and its own fields (the formula is written once, in
-- common/store/store_audit.c); ids are consecutive, so an edited row, a
-- deleted one or a row put between two others breaks the chain at that
-- point (norcctl audit verify).
CREATE TABLE audit (
    id              BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    at              DATETIME(6) NOT NULL,
    principal       VARCHAR(128) NOT NULL,              -- who; "anonymous" while nothing checks keys
    key_fingerprint VARCHAR(128) NOT NULL DEFAULT '',   -- the key it used, when it used one
    source          VARCHAR(255) NOT NULL DEFAULT '',   -- the peer's address
    verb            VARCHAR(64) NOT NULL,               -- the operation: task.add, control, ...
    target          VARCHAR(255) NOT NULL DEFAULT '',   -- what it was done to
    outcome         TINYINT UNSIGNED NOT NULL,          -- 1 accepted, 2 denied, 3 failed
    reason          VARCHAR(1024) NOT NULL DEFAULT '',  -- why it was denied or failed
    before_state    MEDIUMTEXT NULL,                    -- the target before (JSON), when it had one
    after_state     MEDIUMTEXT NULL,                    -- and after
    prev_hash       CHAR(64) NOT NULL,
    hash            CHAR(64) NOT NULL,
    KEY audit_at (at)
) ENGINE=InnoDB;

-- Who may talk to Norc under CURVE: one row per public key. A principal is
-- a name with its roles; it holds one key, or two while a rotation
-- overlaps. The ZAP handlers of the services that hold database
-- credentials read this table every second and copy it to a file in their
-- keys directory (the cache a service starts from while MySQL does not
-- answer, and the registry of services without database credentials).
--   state: 1 pending (an unknown key that knocked: not admitted), 2 accepted,
--          3 rejected (never admitted, not recorded again)
--   kind:  1 user, 2 service, 3 enrolment token (admitted only to enrol a key)
CREATE TABLE principal (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    public_key  CHAR(40) NOT NULL,                  -- Z85
    fingerprint CHAR(40) NOT NULL,                  -- SHA-1 of the key's 32 bytes, hex
    name        VARCHAR(64) NOT NULL DEFAULT '',    -- '' while pending
    kind        TINYINT UNSIGNED NOT NULL,
    roles       VARCHAR(255) NOT NULL DEFAULT '',   -- comma list: viewer, operator, admin, logs:read, scheduler, ...
    state       TINYINT UNSIGNED NOT NULL,
    created_by  VARCHAR(128) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NULL,                   -- NULL: never
    revoked_at  DATETIME(6) NULL,
    address     VARCHAR(255) NOT NULL DEFAULT '',   -- pending: where it knocked from
    seen_at     DATETIME(6) NULL,                   -- pending: last knock
    UNIQUE KEY principal_key (public_key),
    UNIQUE KEY principal_fingerprint (fingerprint),
    KEY principal_name (name)
) ENGINE=InnoDB;

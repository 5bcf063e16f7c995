-- The credentials a person presents over HTTP to norc-web, which passes
-- them to the aggregator with each request (API-REQUEST credential): an
-- API token (made by an admin, shown once) or, later, a browser session.
-- Only a hash of the secret is kept: SHA-256 of its text, hex. A request is
-- authorised and audited as the row's principal with the row's roles.
--   kind: 1 API token, 2 browser session
CREATE TABLE api_token (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(64) NOT NULL,              -- a token's own name; a session: its user
    principal    VARCHAR(64) NOT NULL,              -- whom the requests are audited as
    kind         TINYINT UNSIGNED NOT NULL,
    roles        VARCHAR(255) NOT NULL,
    secret_hash  CHAR(64) NOT NULL,
    created_by   VARCHAR(128) NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    expires_at   DATETIME(6) NULL,                  -- NULL: never
    revoked_at   DATETIME(6) NULL,
    last_used_at DATETIME(6) NULL,                  -- to the minute
    UNIQUE KEY api_token_secret (secret_hash),
    KEY api_token_name (name)
) ENGINE=InnoDB;

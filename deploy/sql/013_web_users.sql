-- Local users of the page: a name, an Argon2id password hash (libsodium's
-- crypto_pwhash_str: the salt and the cost are in the string) and roles.
-- A login makes a session: an api_token row of kind 2 for the user, with
-- the user's roles. Failed logins are counted; five in a row lock the user
-- out for a minute.
CREATE TABLE web_user (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name          VARCHAR(64) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    roles         VARCHAR(255) NOT NULL,
    created_by    VARCHAR(128) NOT NULL,
    created_at    DATETIME(6) NOT NULL,
    failures      INT UNSIGNED NOT NULL DEFAULT 0,
    locked_until  DATETIME(6) NULL,
    last_login_at DATETIME(6) NULL,
    UNIQUE KEY web_user_name (name)
) ENGINE=InnoDB;

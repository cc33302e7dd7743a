-- Which contacts of an account were proven by a code or by a sign-on provider: password reset
-- codes go only to these. Applicants' contacts were proven when their account became active
-- (registration verifies the one contact given; a sign-on provider gives only verified ones);
-- officials were created with a login name only.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN phone_verified_at TIMESTAMPTZ;
UPDATE users SET email_verified_at = created_at
    WHERE email IS NOT NULL AND status = 'active' AND kind IN ('citizen', 'organisation');
UPDATE users SET phone_verified_at = created_at
    WHERE phone IS NOT NULL AND status = 'active' AND kind IN ('citizen', 'organisation');

-- Throttle rows change by compare-and-set on this version, so that parallel attempts cannot all
-- read the same count and pass.
ALTER TABLE login_throttle ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Quotas of messages and codes per fixed window (recipient, client address, account).
CREATE TABLE quotas (
    key            TEXT PRIMARY KEY,
    count          BIGINT NOT NULL,
    window_ends_at TIMESTAMPTZ NOT NULL,
    version        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX quotas_window ON quotas (window_ends_at);

-- The provider's id of an accepted message, or its own status code of the last refusal.
ALTER TABLE outbox ADD COLUMN provider_ref TEXT;

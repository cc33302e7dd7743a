-- The delivery engine: what kind of message each one is (a one-time code, a dossier notice,
-- outreach: separate consent and rules), which provider took it and what it last said, what it
-- was billed, when it was accepted (from then on it waits for the provider's receipt and is never
-- sent again by a lease's expiry), and when Zalo was tried before SMS.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'notice';
ALTER TABLE outbox ADD COLUMN provider TEXT;
ALTER TABLE outbox ADD COLUMN provider_status TEXT;
ALTER TABLE outbox ADD COLUMN billed_units BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN accepted_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN zalo_tried_at TIMESTAMPTZ;
CREATE INDEX outbox_provider_ref ON outbox (provider_ref);
CREATE INDEX outbox_awaiting ON outbox (status, accepted_at);

-- Every attempt on every message, for its history page and for counting duplicate sends.
CREATE TABLE outbox_attempts (
    message_id      TEXT NOT NULL REFERENCES outbox (id),
    at              TIMESTAMPTZ NOT NULL,
    provider        TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    provider_status TEXT,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id, at);

-- The Zalo Official Account's tokens: one row, replaced atomically on each renewal because
-- Zalo's refresh tokens are single use.
CREATE TABLE provider_tokens (
    provider      TEXT PRIMARY KEY,
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_accepted ON outbox (accepted_at);
-- What may be claimed, in due order: a claim walks this index and stops after its batch, however
-- many messages wait or were accepted (their next attempt is days away).
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE status IN ('created', 'temporary_failure', 'sending');

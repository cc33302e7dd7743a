-- Outbox delivery: the last error and when the message was delivered.
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at TIMESTAMPTZ;

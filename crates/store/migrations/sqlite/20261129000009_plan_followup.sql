-- Difficulties agencies raise on plan tasks, answered by the monitor, and budget estimates per
-- task and agency with their approval state.
CREATE TABLE plan_difficulties (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES plans (id),
    task_code    TEXT NOT NULL,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    text         TEXT NOT NULL,
    raised_by    TEXT NOT NULL REFERENCES users (id),
    raised_at    TEXT NOT NULL,
    response     TEXT,
    responded_by TEXT REFERENCES users (id),
    responded_at TEXT
);
CREATE INDEX plan_difficulties_plan ON plan_difficulties (plan_id, responded_at);

CREATE TABLE budget_estimates (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES plans (id),
    task_code   TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    year        BIGINT NOT NULL,
    amount_vnd  BIGINT NOT NULL,
    funding     TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    decision    TEXT,
    created_by  TEXT NOT NULL REFERENCES users (id),
    updated_at  TEXT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX budget_estimates_plan ON budget_estimates (plan_id, status);

-- Reminders are written once per (task, target, agency, period, kind, person).
ALTER TABLE notifications ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX notifications_dedupe ON notifications (dedupe_key);

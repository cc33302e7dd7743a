-- Communication plans: the plan document as JSON (tasks, agencies, periods, targets) and the
-- progress reports agencies file against its tasks.
CREATE TABLE plans (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE progress_reports (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES plans (id),
    task_code       TEXT NOT NULL,
    target          TEXT,
    agency_code     TEXT NOT NULL REFERENCES agencies (code),
    month           TEXT NOT NULL,
    quantity        BIGINT NOT NULL,
    cost_vnd        BIGINT NOT NULL DEFAULT 0,
    done            TEXT NOT NULL,
    evidence_url    TEXT,
    evidence_sha256 TEXT REFERENCES blobs (sha256),
    evidence_name   TEXT,
    reported_by     TEXT NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL
);
CREATE INDEX progress_reports_task ON progress_reports (plan_id, task_code, month);

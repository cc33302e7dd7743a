-- Dossiers: the current state in a row (for queues and lists), the history as hash-chained
-- events (for timelines and audit), attached files as content-addressed blobs, resumable uploads,
-- the daily code sequence and the in-app inbox.
CREATE TABLE dossiers (
    id                  TEXT PRIMARY KEY,
    code                TEXT UNIQUE,
    procedure_id        TEXT NOT NULL REFERENCES procedures (id),
    procedure_version   BIGINT NOT NULL,
    procedure_code      TEXT NOT NULL,
    procedure_name      TEXT NOT NULL,
    agency_code         TEXT NOT NULL REFERENCES agencies (code),
    -- The one-stop desk that receives it (Decree 118/2025: by level, not by where one lives).
    desk_code           TEXT REFERENCES agencies (code),
    applicant_id        TEXT REFERENCES users (id),
    applicant_name      TEXT NOT NULL DEFAULT '',
    applicant_phone     TEXT NOT NULL DEFAULT '',
    applicant_email     TEXT,
    admin_unit_code     TEXT REFERENCES admin_units (code),
    channel             TEXT NOT NULL,
    offline_reason      TEXT,
    status              TEXT NOT NULL,
    form_data           TEXT NOT NULL,
    deadline            TEXT,
    due_at              TIMESTAMPTZ,
    supplement_requests BIGINT NOT NULL DEFAULT 0,
    supplement_items    TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    submitted_at        TIMESTAMPTZ,
    received_at         TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL,
    version             BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX dossiers_applicant ON dossiers (applicant_id, updated_at);
CREATE INDEX dossiers_queue ON dossiers (agency_code, status, due_at);
CREATE INDEX dossiers_desk ON dossiers (desk_code, status, due_at);
CREATE INDEX dossiers_submitted ON dossiers (submitted_at);

CREATE TABLE dossier_sequences (
    prefix TEXT NOT NULL,
    day    TEXT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (prefix, day)
);

-- Append-only; each event carries the hash of the one before it in the same dossier.
CREATE TABLE dossier_events (
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor_id   TEXT,
    actor_name TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    status     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (dossier_id, seq)
);

CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE attachments (
    id          TEXT PRIMARY KEY,
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    document    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    size        BIGINT NOT NULL,
    media_type  TEXT NOT NULL,
    round       BIGINT NOT NULL DEFAULT 0,
    uploaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_dossier ON attachments (dossier_id);

CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name  TEXT NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL DEFAULT 0,
    sha256     TEXT REFERENCES blobs (sha256),
    media_type TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    dossier_id TEXT REFERENCES dossiers (id),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- The back office: per-procedure workflows (versioned; a dossier keeps a copy of the one it
-- started with), who holds a dossier and until when, the proposal and the issued result, the
-- one allowed new appointment (Mẫu 04), requests to other agencies (liên thông), and, on every
-- event, the unit that acted and who the dossier went to (the control sheet, Mẫu 05).
CREATE TABLE workflows (
    procedure_id TEXT NOT NULL REFERENCES procedures (id),
    version      BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT REFERENCES users (id),
    PRIMARY KEY (procedure_id, version)
);

ALTER TABLE dossiers ADD COLUMN workflow TEXT;
ALTER TABLE dossiers ADD COLUMN workflow_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN assignee_id TEXT REFERENCES users (id);
ALTER TABLE dossiers ADD COLUMN assignee_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN step_due_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN outcome TEXT;
ALTER TABLE dossiers ADD COLUMN reschedules BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN original_due_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN result_sha256 TEXT REFERENCES blobs (sha256);
ALTER TABLE dossiers ADD COLUMN result_file_name TEXT;
ALTER TABLE dossiers ADD COLUMN decided_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN hand_over_method TEXT;
CREATE INDEX dossiers_assignee ON dossiers (assignee_id, status, due_at);
CREATE INDEX dossiers_received ON dossiers (desk_code, received_at);

CREATE TABLE consultations (
    id          TEXT PRIMARY KEY,
    dossier_id  TEXT NOT NULL REFERENCES dossiers (id),
    step        BIGINT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    sent_at     TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ,
    answered_at TIMESTAMPTZ,
    answer      TEXT NOT NULL DEFAULT '',
    answered_by TEXT REFERENCES users (id),
    UNIQUE (dossier_id, step)
);
CREATE INDEX consultations_agency ON consultations (agency_code, answered_at);

ALTER TABLE dossier_events ADD COLUMN agency_code TEXT NOT NULL DEFAULT '';
ALTER TABLE dossier_events ADD COLUMN target TEXT NOT NULL DEFAULT '';

-- The procedure catalogue. The current version of each procedure is a row (for listing and
-- search); every version is kept, so a dossier submitted under an old version can show what it
-- was submitted under.
CREATE TABLE procedures (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    version     BIGINT NOT NULL,
    name        TEXT NOT NULL,
    field       TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (code, agency_code)
);
CREATE INDEX procedures_field ON procedures (field);

CREATE TABLE procedure_versions (
    procedure_id TEXT NOT NULL REFERENCES procedures (id),
    version      BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (procedure_id, version)
);

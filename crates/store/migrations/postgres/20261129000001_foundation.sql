-- Foundation: settings, administrative units, agencies, accounts and roles.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE admin_units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('province', 'district', 'commune', 'ward')),
    parent_code TEXT REFERENCES admin_units (code),
    valid_until DATE
);

CREATE TABLE agencies (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('provincial_committee', 'department', 'one_stop_desk', 'commune_committee', 'other')),
    admin_unit_code TEXT NOT NULL REFERENCES admin_units (code),
    successor_code  TEXT REFERENCES agencies (code)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_roles (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    agency_code TEXT REFERENCES agencies (code)
);
CREATE UNIQUE INDEX user_roles_unique ON user_roles (user_id, role, COALESCE(agency_code, ''));

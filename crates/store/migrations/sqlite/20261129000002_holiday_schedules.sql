-- Official yearly holiday schedules entered by administrators. Append-only: every change is a new
-- version with who entered it and when, so the schedule that computed any deadline can be found.
CREATE TABLE holiday_schedules (
    year       INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    entered_at TEXT NOT NULL,
    PRIMARY KEY (year, version)
);

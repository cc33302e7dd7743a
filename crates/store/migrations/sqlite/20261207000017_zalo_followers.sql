-- What each accepted message cost (SMS segments at the contract's price, a ZNS template or an OA
-- message at Zalo's), in đồng.
ALTER TABLE outbox ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;

-- "Follow this dossier on Zalo": the applicant (on the dossier page, or from the receipt's QR
-- through the lookup) gets a code to send to the province's Official Account; the webhook event
-- of that message links the follower's Zalo id to the dossier, and each notice of the dossier
-- then also goes to that id. One live code per dossier; it expires.
CREATE TABLE follow_codes (
    code       TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL UNIQUE REFERENCES dossiers (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE dossier_followers (
    dossier_id   TEXT NOT NULL REFERENCES dossiers (id),
    zalo_user_id TEXT NOT NULL,
    since        TEXT NOT NULL,
    PRIMARY KEY (dossier_id, zalo_user_id)
);
CREATE INDEX dossier_followers_user ON dossier_followers (zalo_user_id);

-- Consent per channel: an outreach row ('' channel) covers every channel of its address, as
-- before; a notice row names the channel a person declined for their dossiers' notices (a phone
-- reached by Zalo or SMS). Rebuilt because SQLite cannot change a primary key.
CREATE TABLE consents_by_channel (
    address    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL DEFAULT '',
    granted    BOOLEAN NOT NULL,
    how        TEXT NOT NULL,
    at         TEXT NOT NULL,
    token      TEXT NOT NULL UNIQUE,
    PRIMARY KEY (address, kind, channel)
);
INSERT INTO consents_by_channel (address, kind, channel, granted, how, at, token)
    SELECT address, kind, '', granted, how, at, token FROM consents;
DROP TABLE consents;
ALTER TABLE consents_by_channel RENAME TO consents;

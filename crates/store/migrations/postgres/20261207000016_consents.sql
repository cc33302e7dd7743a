-- Consent to outreach per address (a phone or an email), apart from the transactional notices
-- the service needs (Decree 13/2023): given by an affirmative act, recorded with when and how,
-- withdrawn as easily (a link carrying the row's token, an SMS keyword, the account page).
CREATE TABLE consents (
    address    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    granted    BOOLEAN NOT NULL,
    how        TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    token      TEXT NOT NULL UNIQUE,
    PRIMARY KEY (address, kind)
);

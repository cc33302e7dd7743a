-- Events carry a typed payload (JSON): the facts of the action and the dossier fields it
-- changed. Events written before have none ('') and keep verifying: the hash covers the payload
-- only when there is one.
ALTER TABLE dossier_events ADD COLUMN payload TEXT NOT NULL DEFAULT '';

-- The delta of a feed import, written in the import's own transaction and
-- cleared once re-matched: an import whose re-match was interrupted is
-- finished by the next run.
CREATE TABLE pending_rematch (
  lookup_key TEXT PRIMARY KEY
);
CREATE TABLE pending_causes (
  advisory_id TEXT PRIMARY KEY,
  cause       TEXT NOT NULL
);

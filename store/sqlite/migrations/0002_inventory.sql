-- Registry inventory: images by digest, index expansion, tag history,
-- referrers, and events worth telling a person about.
CREATE TABLE images (
  digest        TEXT PRIMARY KEY,
  repository    TEXT NOT NULL,
  index_digest  TEXT NOT NULL DEFAULT '',
  media_type    TEXT NOT NULL,
  config_digest TEXT NOT NULL,
  os            TEXT NOT NULL,
  architecture  TEXT NOT NULL,
  variant       TEXT NOT NULL DEFAULT '',
  created       TEXT NOT NULL,
  labels        TEXT NOT NULL,
  annotations   TEXT NOT NULL,
  layers        TEXT NOT NULL,
  diff_ids      TEXT NOT NULL,
  size          INTEGER NOT NULL,
  first_seen    TEXT NOT NULL
);
CREATE INDEX images_repository ON images (repository);
CREATE TABLE indexes (
  digest     TEXT PRIMARY KEY,
  repository TEXT NOT NULL,
  media_type TEXT NOT NULL,
  children   TEXT NOT NULL,
  first_seen TEXT NOT NULL
);
-- One row per stretch of a tag's history; current = 1 on the latest row of
-- a tag that still exists.
CREATE TABLE tag_history (
  id              INTEGER PRIMARY KEY,
  repository      TEXT NOT NULL,
  tag             TEXT NOT NULL,
  digest          TEXT NOT NULL,
  previous_digest TEXT NOT NULL DEFAULT '',
  media_type      TEXT NOT NULL DEFAULT '',
  first_observed  TEXT NOT NULL,
  last_observed   TEXT NOT NULL,
  current         INTEGER NOT NULL
);
CREATE INDEX tag_history_tag ON tag_history (repository, tag, current);
CREATE INDEX tag_history_digest ON tag_history (digest);
CREATE TABLE referrers (
  subject       TEXT NOT NULL,
  digest        TEXT NOT NULL,
  repository    TEXT NOT NULL,
  artifact_type TEXT NOT NULL,
  media_type    TEXT NOT NULL,
  kind          TEXT NOT NULL,
  found_via     TEXT NOT NULL,
  annotations   TEXT NOT NULL,
  size          INTEGER NOT NULL,
  sbom_id       INTEGER,
  at            TEXT NOT NULL,
  PRIMARY KEY (subject, digest)
);
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL,
  repository TEXT NOT NULL DEFAULT '',
  tag        TEXT NOT NULL DEFAULT '',
  digest     TEXT NOT NULL DEFAULT '',
  old_digest TEXT NOT NULL DEFAULT '',
  detail     TEXT NOT NULL DEFAULT '',
  at         TEXT NOT NULL
);
CREATE INDEX events_kind ON events (kind, at);
-- Why a match opened or resolved: a new advisory, a changed or withdrawn
-- advisory, a new image, a full re-match.
ALTER TABLE matches ADD COLUMN opened_cause TEXT NOT NULL DEFAULT '';
ALTER TABLE matches ADD COLUMN resolved_cause TEXT NOT NULL DEFAULT '';

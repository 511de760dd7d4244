-- Portable SQL: the PostgreSQL backend keeps the same tables and columns.
-- Times are stored as fixed-width UTC text (2006-01-02T15:04:05.000000000Z)
-- so they order correctly as strings in both backends.
CREATE TABLE documents (
  digest TEXT PRIMARY KEY,
  body   BLOB NOT NULL
);
CREATE TABLE sboms (
  id                 INTEGER PRIMARY KEY,
  digest             TEXT NOT NULL REFERENCES documents(digest),
  source             TEXT NOT NULL,
  image              TEXT NOT NULL DEFAULT '',
  format             TEXT NOT NULL,
  format_version     TEXT NOT NULL,
  subject            TEXT NOT NULL DEFAULT '',
  distro             TEXT NOT NULL DEFAULT '',
  ingested_at        TEXT NOT NULL,
  package_count      INTEGER NOT NULL,
  unidentified_count INTEGER NOT NULL,
  UNIQUE (digest, image)
);
CREATE TABLE packages (
  id             INTEGER PRIMARY KEY,
  ident          TEXT NOT NULL UNIQUE,
  purl           TEXT NOT NULL,
  type           TEXT NOT NULL,
  ecosystem      TEXT NOT NULL,
  release        TEXT NOT NULL,
  name           TEXT NOT NULL,
  name_key       TEXT NOT NULL,
  version        TEXT NOT NULL,
  source_name    TEXT NOT NULL,
  source_key     TEXT NOT NULL,
  source_version TEXT NOT NULL
);
CREATE INDEX packages_name ON packages (ecosystem, name_key);
CREATE INDEX packages_source ON packages (ecosystem, source_key);
CREATE TABLE sbom_packages (
  sbom_id    INTEGER NOT NULL REFERENCES sboms(id),
  package_id INTEGER NOT NULL REFERENCES packages(id),
  PRIMARY KEY (sbom_id, package_id)
);
CREATE INDEX sbom_packages_package ON sbom_packages (package_id);
CREATE TABLE unidentified (
  sbom_id INTEGER NOT NULL REFERENCES sboms(id),
  name    TEXT NOT NULL,
  version TEXT NOT NULL,
  purl    TEXT NOT NULL,
  reason  TEXT NOT NULL
);
CREATE INDEX unidentified_sbom ON unidentified (sbom_id);
CREATE TABLE advisories (
  id              TEXT PRIMARY KEY,
  content_hash    TEXT NOT NULL,
  modified        TEXT NOT NULL,
  published       TEXT NOT NULL DEFAULT '',
  withdrawn       TEXT NOT NULL DEFAULT '',
  summary         TEXT NOT NULL DEFAULT '',
  severity        TEXT NOT NULL DEFAULT '',
  cvss_score      REAL NOT NULL DEFAULT 0,
  cvss_vector     TEXT NOT NULL DEFAULT '',
  severity_source TEXT NOT NULL DEFAULT '',
  record          TEXT NOT NULL,
  source          TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE TABLE advisory_aliases (
  advisory_id TEXT NOT NULL,
  alias       TEXT NOT NULL,
  PRIMARY KEY (advisory_id, alias)
);
CREATE INDEX advisory_aliases_alias ON advisory_aliases (alias);
CREATE TABLE affected (
  advisory_id TEXT NOT NULL,
  idx         INTEGER NOT NULL,
  ecosystem   TEXT NOT NULL,
  lookup_key  TEXT NOT NULL,
  entry       TEXT NOT NULL,
  PRIMARY KEY (advisory_id, idx)
);
CREATE INDEX affected_lookup ON affected (lookup_key);
CREATE TABLE kev (
  cve                  TEXT PRIMARY KEY,
  vendor_project       TEXT NOT NULL,
  product              TEXT NOT NULL,
  name                 TEXT NOT NULL,
  date_added           TEXT NOT NULL,
  due_date             TEXT NOT NULL,
  required_action      TEXT NOT NULL,
  known_ransomware_use TEXT NOT NULL
);
CREATE TABLE epss (
  cve           TEXT PRIMARY KEY,
  score         REAL NOT NULL,
  percentile    REAL NOT NULL,
  model_version TEXT NOT NULL,
  score_date    TEXT NOT NULL
);
CREATE TABLE matches (
  package_id  INTEGER NOT NULL REFERENCES packages(id),
  advisory_id TEXT NOT NULL,
  fixed       TEXT NOT NULL,
  via         TEXT NOT NULL,
  first_seen  TEXT NOT NULL,
  resolved_at TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (package_id, advisory_id)
);
CREATE INDEX matches_advisory ON matches (advisory_id);
CREATE TABLE feed_imports (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  added       INTEGER NOT NULL,
  changed     INTEGER NOT NULL,
  withdrawn   INTEGER NOT NULL,
  unchanged   INTEGER NOT NULL,
  kev         INTEGER NOT NULL,
  epss        INTEGER NOT NULL
);
-- Findings are matches fanned out to every SBOM holding the package. An
-- SBOM's finding is first seen when both the match and the SBOM existed.
CREATE VIEW findings AS
SELECT sp.sbom_id, m.package_id, m.advisory_id, m.fixed, m.via,
       CASE WHEN m.first_seen > s.ingested_at THEN m.first_seen ELSE s.ingested_at END AS first_seen,
       m.resolved_at
FROM matches m
JOIN sbom_packages sp ON sp.package_id = m.package_id
JOIN sboms s ON s.id = sp.sbom_id;

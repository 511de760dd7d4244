-- What a crawl found attached as signatures and attestations, kept so that
-- verification runs offline and again whenever the trust policy changes.
CREATE TABLE signature_material (
  subject       TEXT NOT NULL,
  referrer      TEXT NOT NULL,
  idx           INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  artifact_type TEXT NOT NULL,
  media_type    TEXT NOT NULL,
  annotations   TEXT NOT NULL,
  body          BLOB NOT NULL,
  PRIMARY KEY (subject, referrer, idx)
);
-- The verdict per image digest under one trust policy (by its hash).
CREATE TABLE signature_status (
  digest      TEXT NOT NULL,
  policy_hash TEXT NOT NULL,
  status      TEXT NOT NULL,
  detail      TEXT NOT NULL,
  verified_at TEXT NOT NULL,
  PRIMARY KEY (digest, policy_hash)
);

-- The decision log: every gate decision (CI, API, admission), with the
-- full decision as JSON beside the columns it is filtered by.
CREATE TABLE decisions (
  id           INTEGER PRIMARY KEY,
  evaluated_at TEXT NOT NULL,
  reference    TEXT NOT NULL,
  digest       TEXT NOT NULL,
  verdict      TEXT NOT NULL,
  incomplete   TEXT NOT NULL DEFAULT '',
  policy_hash  TEXT NOT NULL,
  environment  TEXT NOT NULL DEFAULT '',
  namespace    TEXT NOT NULL DEFAULT '',
  cluster      TEXT NOT NULL DEFAULT '',
  source       TEXT NOT NULL DEFAULT '',
  latency_ms   REAL NOT NULL,
  detail       TEXT NOT NULL
);
CREATE INDEX decisions_at ON decisions (evaluated_at);
CREATE INDEX decisions_digest ON decisions (digest);

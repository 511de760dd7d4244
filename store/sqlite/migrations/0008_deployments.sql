-- Deployment inventory: which image digest runs in which cluster,
-- namespace, workload and container, in which environment. One row per
-- container of an admitted top-level workload, keyed by its JSON path;
-- first_seen is when that image was first admitted there.
CREATE TABLE deployments (
  cluster     TEXT NOT NULL,
  namespace   TEXT NOT NULL,
  kind        TEXT NOT NULL,
  workload    TEXT NOT NULL,
  path        TEXT NOT NULL,
  container   TEXT NOT NULL,
  image       TEXT NOT NULL,
  digest      TEXT NOT NULL,
  environment TEXT NOT NULL,
  first_seen  TEXT NOT NULL,
  last_seen   TEXT NOT NULL,
  PRIMARY KEY (cluster, namespace, kind, workload, path)
);
CREATE INDEX deployments_digest ON deployments (digest);
CREATE INDEX deployments_environment ON deployments (environment, digest);

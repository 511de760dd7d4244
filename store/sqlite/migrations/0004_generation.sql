-- Bumped by every feed import: a reconcile that read advisories before an
-- import committed must not write its (stale) result after it.
CREATE TABLE feed_generation (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  gen INTEGER NOT NULL
);
INSERT INTO feed_generation (id, gen) VALUES (1, 0);

-- VEX statements: what a supplier or the image's owner says one
-- vulnerability means for one package. A statement names its vulnerability
-- and each alias on its own row, so a finding matches on its advisory id
-- or any alias by equality. product_key is the purl without qualifiers or
-- subpath (vex.ProductKey); image_digest, when set, limits the statement to
-- the SBOMs of that image. The latest statement (at, then id) of those
-- that apply to a finding decides its state.
CREATE TABLE vex_statements (
  id            INTEGER PRIMARY KEY,
  vulnerability TEXT NOT NULL,
  product_key   TEXT NOT NULL,
  image_digest  TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL,
  justification TEXT NOT NULL DEFAULT '',
  source        TEXT NOT NULL,
  at            TEXT NOT NULL,
  imported_at   TEXT NOT NULL
);
CREATE INDEX vex_statements_product ON vex_statements (product_key, vulnerability);

-- Bumped by every VEX import, so cached findings states are re-read.
CREATE TABLE vex_generation (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  gen INTEGER NOT NULL
);
INSERT INTO vex_generation (id, gen) VALUES (1, 0);

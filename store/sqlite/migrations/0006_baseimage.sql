-- Base-image attribution: each image's base chain (position 0 = its own
-- base), how each link was found and how sure it is. base_tags is a JSON
-- array of every tag the base carried when the image was built; base_tag
-- is the one shown.
CREATE TABLE base_images (
  digest            TEXT NOT NULL,
  position          INTEGER NOT NULL,
  base_repository   TEXT NOT NULL,
  base_digest       TEXT NOT NULL,
  base_index_digest TEXT NOT NULL DEFAULT '',
  base_tag          TEXT NOT NULL,
  base_tags         TEXT NOT NULL DEFAULT '[]',
  method            TEXT NOT NULL,
  confidence        TEXT NOT NULL,
  shared_layers     INTEGER NOT NULL,
  identical         INTEGER NOT NULL DEFAULT 0,
  alternatives      TEXT NOT NULL,
  note              TEXT NOT NULL,
  computed_at       TEXT NOT NULL,
  PRIMARY KEY (digest, position)
);
CREATE INDEX base_images_base ON base_images (base_repository, base_tag);
CREATE INDEX base_images_base_digest ON base_images (base_digest);

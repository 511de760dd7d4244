-- The image digest an SBOM describes, apart from the reference it was
-- stored under (repo@sha256:… or a bare digest), so an image's SBOMs are
-- an index lookup instead of a suffix LIKE over every SBOM: the gate asks
-- this for every decision about a digest it has not cached.
ALTER TABLE sboms ADD COLUMN image_digest TEXT NOT NULL DEFAULT '';
UPDATE sboms SET image_digest = CASE
  WHEN instr(image, '@') > 0 THEN substr(image, instr(image, '@') + 1)
  WHEN image LIKE 'sha256:%' THEN image
  ELSE '' END;
CREATE INDEX sboms_image_digest ON sboms (image_digest);

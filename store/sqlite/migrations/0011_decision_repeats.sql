-- Identical decisions, coalesced: a webhook asked about the same image in
-- the same context thousands of times a second writes one row that counts
-- them (repeats) and says when the last one was made (last_at).
ALTER TABLE decisions ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE decisions ADD COLUMN last_at TEXT NOT NULL DEFAULT '';
UPDATE decisions SET last_at = evaluated_at;

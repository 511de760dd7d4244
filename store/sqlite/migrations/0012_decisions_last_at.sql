-- Retention removes decision-log rows by when their last decision was made.
CREATE INDEX decisions_last_at ON decisions (last_at);

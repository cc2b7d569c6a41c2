-- 006 was edited after it landed: its first text also made the index below, which the edit dropped
-- (reviews are few, the kind indexes find them). Databases migrated with the first text still have
-- it; this makes them equal to those built since. A no-op where the index was never made.
DROP INDEX IF EXISTS events_review_notice;

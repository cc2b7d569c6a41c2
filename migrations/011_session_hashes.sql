-- Sessions are kept as a SHA-256 of their id: the cookie carries the (signed) id, the table only its hash
-- (`id_hash`, lowercase hex), as api_tokens keeps its tokens, so a copy of the database (a backup, a
-- leaked file) holds no id that signs anyone in. Each session also ends 30 days after sign-in however
-- much it is used (accounts.SESSION_LIFETIME, counted from created_at), besides the 14-day idle limit.
--
-- Existing sessions end here: SQLite has no sha256 function to hash their ids in place, and keeping
-- plain ids next to hashes would leave the very thing this removes. Everyone signed in signs in again
-- once; nothing else is lost (the sign-ins themselves stay in the audit log). A CSRF token lives with
-- its session, so the old tokens go with them.
DROP TABLE sessions;

CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

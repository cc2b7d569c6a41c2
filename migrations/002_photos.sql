-- Photos attached to events. Files live under the media folder with names the server chose;
-- sha256 is of the bytes as uploaded, so a resend of the same photo for the same event is stored once.
CREATE TABLE event_photos (
  id TEXT PRIMARY KEY,                    -- random hex chosen by the server
  event_id TEXT NOT NULL REFERENCES events(id),
  sha256 TEXT NOT NULL,
  file TEXT NOT NULL,                     -- path relative to the media folder, e.g. 2021/03/<random>.jpg
  thumb TEXT NOT NULL,                    -- same, the thumbnail
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  bytes INTEGER NOT NULL,                 -- size of the stored file
  content_type TEXT NOT NULL DEFAULT 'image/jpeg',
  created_at TEXT NOT NULL,
  created_by INTEGER NOT NULL REFERENCES users(id),
  UNIQUE (event_id, sha256)
);

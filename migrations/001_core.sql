-- Accounts, audit log and the registry of sites and plants.

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('inspector', 'chief', 'admin')),
  password_hash TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL
);

-- Server-side sessions: the cookie carries only a signed random id, so logout ends the session for good.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_attempts (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL,
  ip TEXT NOT NULL,
  at TEXT NOT NULL,
  ok INTEGER NOT NULL
);
CREATE INDEX login_attempts_username_at ON login_attempts(username, at);

-- Bearer tokens for the API; only a SHA-256 of the token is kept.
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  user_id INTEGER REFERENCES users(id),
  username TEXT,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT NOT NULL DEFAULT '{}',
  ip TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE sites (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  reg_no TEXT NOT NULL UNIQUE,          -- 监督注册号
  address TEXT NOT NULL DEFAULT '',
  town TEXT NOT NULL DEFAULT '',
  lat REAL,
  lon REAL,
  builder TEXT NOT NULL DEFAULT '',     -- 建设单位
  contractor TEXT NOT NULL DEFAULT '',  -- 施工单位
  supervisor TEXT NOT NULL DEFAULT '',  -- 监理单位
  uses_ready_mix INTEGER NOT NULL DEFAULT 1,
  started_on TEXT,                      -- 开工/施工许可日期, YYYY-MM-DD
  completed_on TEXT,                    -- 竣工验收日期, empty while under construction
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (completed_on IS NULL OR started_on IS NULL OR completed_on >= started_on)
);
CREATE INDEX sites_town ON sites(town);

CREATE TABLE site_inspectors (
  site_id INTEGER NOT NULL REFERENCES sites(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (site_id, user_id)
);
CREATE INDEX site_inspectors_user ON site_inspectors(user_id);

-- 停工 intervals; end_on NULL while the site is still paused.
CREATE TABLE site_pauses (
  id INTEGER PRIMARY KEY,
  site_id INTEGER NOT NULL REFERENCES sites(id),
  start_on TEXT NOT NULL,
  end_on TEXT,
  reason TEXT NOT NULL DEFAULT '',
  CHECK (end_on IS NULL OR end_on >= start_on)
);
CREATE INDEX site_pauses_site ON site_pauses(site_id);

CREATE TABLE plants (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  licence_no TEXT NOT NULL UNIQUE,      -- 资质证书编号
  address TEXT NOT NULL DEFAULT '',
  town TEXT NOT NULL DEFAULT '',
  lat REAL,
  lon REAL,
  active_from TEXT,
  active_to TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (active_to IS NULL OR active_from IS NULL OR active_to >= active_from)
);

-- 质量安全生产大检查及季度考评: a campaign belongs to the quarter in which it ends.
CREATE TABLE campaigns (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  start_on TEXT NOT NULL,
  end_on TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (name, start_on, end_on),
  CHECK (end_on >= start_on)
);

-- Events: one row per logged event, keyed by the client-generated UUID.
-- occurred_at is ISO 8601 with the station's offset; day and month are the station-local
-- date and month, stored so that roll-ups group by period through indexes that start with it.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  day TEXT NOT NULL,
  month TEXT NOT NULL,
  received_at TEXT NOT NULL,
  late INTEGER NOT NULL DEFAULT 0,        -- 补录: received more than 3 days after it occurred
  recorded_by INTEGER NOT NULL REFERENCES users(id),
  site_id INTEGER REFERENCES sites(id),
  plant_id INTEGER REFERENCES plants(id),
  campaign_id INTEGER REFERENCES campaigns(id),
  place TEXT,
  lat REAL,
  lon REAL,
  accuracy_m REAL,
  note TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL DEFAULT '{}',        -- kind-specific fields, JSON
  content_hash TEXT NOT NULL,             -- of the content as first submitted: decides 200 vs 409 on a resend
  version INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL,
  voided INTEGER NOT NULL DEFAULT 0,
  void_reason TEXT,
  voided_at TEXT,
  voided_by INTEGER REFERENCES users(id)
);
CREATE INDEX events_month_kind ON events(month, kind, voided);
CREATE INDEX events_kind_month_site ON events(kind, month, site_id, voided);
CREATE INDEX events_kind_month_plant ON events(kind, month, plant_id, voided);
CREATE INDEX events_site_occurred ON events(site_id, occurred_at);
CREATE INDEX events_plant_occurred ON events(plant_id, occurred_at);
CREATE INDEX events_recorded_by ON events(recorded_by, occurred_at);
CREATE INDEX events_campaign ON events(campaign_id);

CREATE TABLE event_inspectors (
  event_id TEXT NOT NULL REFERENCES events(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_inspectors_user ON event_inspectors(user_id);

-- Every edit and void keeps the previous state here: nothing is ever deleted.
CREATE TABLE event_revisions (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES events(id),
  version INTEGER NOT NULL,
  changed_at TEXT NOT NULL,
  changed_by INTEGER NOT NULL REFERENCES users(id),
  action TEXT NOT NULL CHECK (action IN ('edit', 'void')),
  reason TEXT NOT NULL DEFAULT '',
  before TEXT NOT NULL,                   -- JSON snapshot of the event before the change
  UNIQUE (event_id, version)
);

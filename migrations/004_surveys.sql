-- Public surveys: 质量安全宣传知晓率 (awareness) and 服务对象满意度 (satisfaction).
-- A survey code is one link / QR code handed out by staff; each answer is one respondent.

CREATE TABLE survey_codes (
  id INTEGER PRIMARY KEY,
  token TEXT NOT NULL UNIQUE,             -- random, url-safe: the public link is /s/{token}
  kind TEXT NOT NULL CHECK (kind IN ('awareness_survey', 'satisfaction_survey')),
  site_id INTEGER REFERENCES sites(id),
  event_id TEXT REFERENCES events(id),    -- e.g. the leaflets event where the code was handed out
  created_by INTEGER NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL,
  max_answers INTEGER CHECK (max_answers IS NULL OR max_answers > 0),
  closed_at TEXT,
  note TEXT NOT NULL DEFAULT ''
);

-- Roll-ups read rates as SUM(positive) / COUNT(*) by kind and day.
CREATE TABLE survey_answers (
  id INTEGER PRIMARY KEY,
  code_id INTEGER NOT NULL REFERENCES survey_codes(id),
  kind TEXT NOT NULL CHECK (kind IN ('awareness_survey', 'satisfaction_survey')),
  answered_at TEXT NOT NULL,              -- UTC ISO 8601
  day TEXT NOT NULL,                      -- station-local YYYY-MM-DD
  month TEXT NOT NULL,                    -- station-local YYYY-MM
  positive INTEGER NOT NULL CHECK (positive IN (0, 1)),  -- 1 = aware / satisfied
  answers TEXT NOT NULL DEFAULT '{}',     -- JSON: question key -> chosen option
  respondent_type TEXT NOT NULL,          -- 施工企业 / 建设单位 / 群众 / 其他
  ip_hash TEXT NOT NULL,                  -- HMAC of the address with the secret key, never the raw IP
  comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX survey_answers_kind_day ON survey_answers(kind, day);
CREATE INDEX survey_answers_code_ip_day ON survey_answers(code_id, ip_hash, day);
CREATE INDEX survey_answers_ip_at ON survey_answers(ip_hash, answered_at);

-- The closing block of the 绩效自评表 (单位负责人、填表人、联系电话、填报日期), entered once per year by the chief,
-- and batches of paper questionnaires (知晓率, 满意度) entered by the chief or an inspector.

-- Every entry kept; the newest row of a year is printed.
CREATE TABLE evaluation_signatures (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  head_name TEXT NOT NULL,                -- 单位负责人
  filler_name TEXT NOT NULL,              -- 填表人
  phone TEXT NOT NULL,                    -- 联系电话
  filled_on TEXT NOT NULL,                -- 填报日期 (YYYY-MM-DD)
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL
);
CREATE INDEX evaluation_signatures_year ON evaluation_signatures(year, id);

-- A batch of paper answers of one survey kind, collected on one day at one place. `counts` (JSON) holds the
-- respondents per answer: satisfaction {"很满意": n, …} of the overall question; awareness {"4": n, "3": n, …},
-- respondents by how many of the four questions they answered 是. `respondents` = Σ counts and `positive` (aware:
-- 3 or 4 是; satisfied: 很满意/满意/基本满意) are stored beside them for the roll-up. `sheets` (JSON, or NULL) holds
-- one answer set per respondent when the sheets were kept and entered one by one.
-- Never deleted: a correction is an edit kept in survey_batch_revisions, a mistake is voided with a reason.
CREATE TABLE survey_batches (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('awareness_survey', 'satisfaction_survey')),
  collected_on TEXT NOT NULL,             -- YYYY-MM-DD, station-local
  month TEXT NOT NULL,                    -- YYYY-MM of collected_on
  place TEXT NOT NULL,
  counts TEXT NOT NULL,
  sheets TEXT,
  respondents INTEGER NOT NULL CHECK (respondents > 0),
  positive INTEGER NOT NULL CHECK (positive >= 0 AND positive <= respondents),
  note TEXT NOT NULL DEFAULT '',
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  updated_by INTEGER REFERENCES users(id),
  updated_at TEXT,
  voided INTEGER NOT NULL DEFAULT 0,
  void_reason TEXT,
  voided_by INTEGER REFERENCES users(id),
  voided_at TEXT
);
CREATE INDEX survey_batches_kind_day ON survey_batches(kind, collected_on) WHERE voided = 0;

-- One row per correction or void: the batch as it was before, who changed it, when and why.
CREATE TABLE survey_batch_revisions (
  id INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES survey_batches(id),
  version INTEGER NOT NULL,               -- the version the row held before the change
  action TEXT NOT NULL CHECK (action IN ('edit', 'void')),
  before TEXT NOT NULL,                   -- JSON of the batch before the change
  reason TEXT NOT NULL,
  changed_by INTEGER REFERENCES users(id),
  changed_at TEXT NOT NULL
);
CREATE INDEX survey_batch_revisions_batch ON survey_batch_revisions(batch_id, id);

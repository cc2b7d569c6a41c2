-- The concrete lab loop (samples now, results weeks later), the supervision plan and the 双随机 draws.
-- Nothing landed is changed: a concrete_sampling event that already carries `result` in its data counts
-- as a result in on the day it was sampled (the view sample_status says so), so existing figures stay.

-- Testing labs (检测机构) the admin keeps, next to the plants registry.
CREATE TABLE labs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  licence_no TEXT NOT NULL DEFAULT '',   -- 资质证书编号
  address TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- A lab's report on a sample. Every entry is kept (a correction is a new row); the newest row of a sample
-- is its result. Never a second event: the sample is one concrete_sampling event.
CREATE TABLE sample_results (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES events(id),
  report_no TEXT NOT NULL,               -- 检测报告编号
  report_on TEXT NOT NULL,               -- 报告日期 YYYY-MM-DD: the day the result (and its invoice) is in
  measured_mpa REAL,
  result TEXT NOT NULL CHECK (result IN ('合格', '不合格')),
  fee_yuan REAL CHECK (fee_yuan IS NULL OR fee_yuan >= 0),
  source TEXT NOT NULL CHECK (source IN ('form', 'api', 'import')),
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sample_results_event ON sample_results (event_id, id);
CREATE INDEX sample_results_report_on ON sample_results (report_on);

-- Samples are matched by their number (a lab's spreadsheet names them so).
CREATE INDEX events_sample_no ON events (json_extract(data, '$.sample_no')) WHERE kind = 'concrete_sampling';

-- Every concrete sample with its current result: the newest sample_results row, else the result the event
-- itself carries (entries made before 013, or sent with their result), whose report date is the sample's day.
CREATE VIEW sample_status AS
SELECT e.id AS event_id, e.site_id, e.plant_id, e.day, e.month, e.voided, e.recorded_by,
       json_extract(e.data, '$.sample_no') AS sample_no,
       json_extract(e.data, '$.lab_id') AS lab_id,
       r.id AS result_id,
       CASE WHEN r.id IS NOT NULL THEN r.result ELSE json_extract(e.data, '$.result') END AS result,
       CASE WHEN r.id IS NOT NULL THEN r.report_on
            WHEN json_extract(e.data, '$.result') IS NOT NULL THEN e.day END AS report_on,
       CASE WHEN r.id IS NOT NULL THEN r.report_no ELSE json_extract(e.data, '$.report_no') END AS report_no,
       CASE WHEN r.id IS NOT NULL THEN r.measured_mpa ELSE json_extract(e.data, '$.measured_mpa') END AS measured_mpa,
       CASE WHEN r.id IS NOT NULL THEN r.fee_yuan ELSE json_extract(e.data, '$.fee_yuan') END AS fee_yuan
FROM events e
LEFT JOIN sample_results r ON r.id = (SELECT max(id) FROM sample_results WHERE event_id = e.id)
WHERE e.kind = 'concrete_sampling';

-- The supervision plan: a site's risk level, the reasons for it and the monthly checks it implies, from a
-- month on. Every setting is kept; the newest one starting on or before a month holds for that month.
CREATE TABLE site_plans (
  id INTEGER PRIMARY KEY,
  site_id INTEGER NOT NULL REFERENCES sites(id),
  from_month TEXT NOT NULL,              -- YYYY-MM
  level TEXT NOT NULL,                   -- plans.LEVELS
  reasons TEXT NOT NULL DEFAULT '[]',    -- JSON list of plans.REASONS values
  monthly_checks INTEGER NOT NULL CHECK (monthly_checks >= 0),
  note TEXT NOT NULL DEFAULT '',
  set_by INTEGER REFERENCES users(id),
  set_at TEXT NOT NULL
);
CREATE INDEX site_plans_site ON site_plans (site_id, from_month, id);

-- 双随机一公开: a month's draw, reproducible from its seed, and the checks it drew.
CREATE TABLE draws (
  id INTEGER PRIMARY KEY,
  month TEXT NOT NULL,                   -- YYYY-MM
  seed TEXT NOT NULL,
  share_percent INTEGER NOT NULL CHECK (share_percent BETWEEN 1 AND 100),
  exclude_responsible INTEGER NOT NULL,
  due_working_days INTEGER NOT NULL,
  algorithm TEXT NOT NULL,               -- draws.ALGORITHM, so a later change never re-reads an old draw wrongly
  drawn_by INTEGER REFERENCES users(id),
  drawn_at TEXT NOT NULL,
  published_on TEXT,                     -- YYYY-MM-DD the results were made public
  published_by INTEGER REFERENCES users(id)
);
CREATE TABLE draw_checks (
  id INTEGER PRIMARY KEY,
  draw_id INTEGER NOT NULL REFERENCES draws(id),
  position INTEGER NOT NULL,
  site_id INTEGER NOT NULL REFERENCES sites(id),
  inspector_a INTEGER NOT NULL REFERENCES users(id),
  inspector_b INTEGER NOT NULL REFERENCES users(id),
  UNIQUE (draw_id, position)
);
CREATE INDEX draw_checks_inspector_a ON draw_checks (inspector_a);
CREATE INDEX draw_checks_inspector_b ON draw_checks (inspector_b);

-- Indicators: target tables (as loaded TOML), the chief's manual values, year-end evaluation texts
-- and the budget execution block of the 绩效自评表.

-- Every load is kept; the newest row of a year is that year's table.
CREATE TABLE target_tables (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  station TEXT NOT NULL,
  source TEXT NOT NULL,                   -- the TOML text as loaded
  loaded_at TEXT NOT NULL,
  loaded_by TEXT                          -- username, or 'cli'
);
CREATE INDEX target_tables_year ON target_tables(year, id);

-- History kept: a correction is a new row; the newest row of (year, row_key) wins.
CREATE TABLE manual_values (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  row_key TEXT NOT NULL,
  value_number REAL,
  value_text TEXT,
  grade TEXT CHECK (grade IS NULL OR grade IN ('达成', '部分达成', '未达成')),
  source_document TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL,
  CHECK (value_number IS NOT NULL OR value_text IS NOT NULL)
);
CREATE INDEX manual_values_year_row ON manual_values(year, row_key, id);

-- 偏差原因分析及改进措施, written by the chief; newest row of (year, row_key) wins.
CREATE TABLE evaluation_notes (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  row_key TEXT NOT NULL,
  text TEXT NOT NULL,
  written_by INTEGER REFERENCES users(id),
  written_at TEXT NOT NULL
);
CREATE INDEX evaluation_notes_year_row ON evaluation_notes(year, row_key, id);

-- 预算执行率 block (万元); newest row of a year wins.
CREATE TABLE budget_execution (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  initial_budget REAL,                    -- 年初预算数
  full_year_budget REAL NOT NULL,         -- 全年预算数
  executed REAL NOT NULL,                 -- 全年执行数
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL,
  CHECK (full_year_budget > 0 AND executed >= 0)
);
CREATE INDEX budget_execution_year ON budget_execution(year, id);

-- Pooled quality rates read one JSON field of most events; with the field in an index that starts
-- with (kind, month) the roll-up reads the index alone instead of every row.
CREATE INDEX events_kind_month_finding ON events(kind, month, voided, json_extract(data, '$.finding'));
CREATE INDEX events_kind_month_result ON events(kind, month, voided, json_extract(data, '$.result'));

-- The chief's grades of qualitative rows become English enum values; pages show their labels
-- (fieldlog/messages.py, LABELS["grade"]): 达成 -> met, 部分达成 -> partial, 未达成 -> missed.
-- SQLite cannot alter a CHECK constraint, so manual_values is rebuilt: a new table with the new CHECK,
-- every row copied (same ids, so the newest entry of a row stays the newest), the old table dropped,
-- the new one renamed and its index recreated. No table, view or trigger refers to manual_values.
-- A grade outside the three fails the new CHECK, so the migration rolls back rather than lose it.

CREATE TABLE manual_values_new (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  row_key TEXT NOT NULL,
  value_number REAL,
  value_text TEXT,
  grade TEXT CHECK (grade IS NULL OR grade IN ('met', 'partial', 'missed')),
  source_document TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  entered_by INTEGER REFERENCES users(id),
  entered_at TEXT NOT NULL,
  CHECK (value_number IS NOT NULL OR value_text IS NOT NULL)
);

INSERT INTO manual_values_new (id, year, row_key, value_number, value_text, grade, source_document, note,
                               entered_by, entered_at)
SELECT id, year, row_key, value_number, value_text,
       CASE grade WHEN '达成' THEN 'met' WHEN '部分达成' THEN 'partial' WHEN '未达成' THEN 'missed' ELSE grade END,
       source_document, note, entered_by, entered_at
FROM manual_values;

DROP TABLE manual_values;

ALTER TABLE manual_values_new RENAME TO manual_values;

CREATE INDEX manual_values_year_row ON manual_values(year, row_key, id);

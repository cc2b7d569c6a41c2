-- notice_days: how many notices (notice_state rows) were issued on each station-local day, kept by triggers on
-- notice_state. The follow-ups with closed notices count a year's notices as a sum of its days (the closed ones:
-- that sum less the open ones, which the open range counts) instead of reading every notice of the year; the
-- monthly report counts its month's the same way. The triggers fire only when a notice's row changes.

CREATE TABLE notice_days (
  day TEXT PRIMARY KEY,
  n INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO notice_days (day, n) SELECT day, count(*) FROM notice_state INDEXED BY notice_state_day GROUP BY day;

CREATE TRIGGER notice_days_insert AFTER INSERT ON notice_state
BEGIN
  INSERT INTO notice_days (day, n) VALUES (new.day, 1) ON CONFLICT (day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER notice_days_delete AFTER DELETE ON notice_state
BEGIN
  UPDATE notice_days SET n = n - 1 WHERE day = old.day;
END;

CREATE TRIGGER notice_days_update AFTER UPDATE OF day ON notice_state WHEN old.day != new.day
BEGIN
  UPDATE notice_days SET n = n - 1 WHERE day = old.day;
  INSERT INTO notice_days (day, n) VALUES (new.day, 1) ON CONFLICT (day) DO UPDATE SET n = n + 1;
END;

-- Concrete samples tallied by the day they were taken, the day their result was reported and the result, kept
-- by triggers on events and sample_results, so that the testing fee, the pass rate and the samples awaiting
-- results of a year read a few rows per day instead of every sample's events row, newest result and JSON
-- (the view sample_status, 013, has no index on its computed report_on: every sample ever was read).
--
-- A sample's row is its sample_status: the newest sample_results row, else the result the event carries
-- (reported on the sample's day); report_on and result are '' while no result is in. Voided samples are not
-- tallied. Fees are kept in fen (integer: sums are exact whatever the order of the writes).
-- Every write that can change a sample's status takes its old row off in a BEFORE trigger (the old state is
-- still there; a failing statement rolls it back with the rest) and puts its new row on in an AFTER trigger.

CREATE VIEW sample_tally_rows AS
SELECT event_id, day AS sampled_on, coalesce(report_on, '') AS report_on, coalesce(result, '') AS result,
       CAST(round(coalesce(fee_yuan, 0) * 100) AS INTEGER) AS fee_fen
FROM sample_status WHERE voided = 0;

CREATE TABLE sample_tallies (
  report_on TEXT NOT NULL,          -- YYYY-MM-DD the result was reported, '' while awaited
  result TEXT NOT NULL,             -- 合格 / 不合格, '' while awaited
  sampled_on TEXT NOT NULL,         -- the sample's day
  n INTEGER NOT NULL,
  fee_fen INTEGER NOT NULL,         -- Σ fee_yuan × 100 of the results
  PRIMARY KEY (report_on, result, sampled_on)
) WITHOUT ROWID;
CREATE INDEX sample_tallies_sampled ON sample_tallies (sampled_on, report_on);

INSERT INTO sample_tallies (report_on, result, sampled_on, n, fee_fen)
SELECT report_on, result, sampled_on, count(*), sum(fee_fen) FROM sample_tally_rows GROUP BY 1, 2, 3;

CREATE TRIGGER sample_tallies_event_insert AFTER INSERT ON events
WHEN new.kind = 'concrete_sampling' AND new.voided = 0
BEGIN
  INSERT INTO sample_tallies (report_on, result, sampled_on, n, fee_fen)
  SELECT report_on, result, sampled_on, 1, fee_fen FROM sample_tally_rows WHERE event_id = new.id
  ON CONFLICT DO UPDATE SET n = n + 1, fee_fen = fee_fen + excluded.fee_fen;
END;

CREATE TRIGGER sample_tallies_event_leave BEFORE UPDATE OF id, kind, day, data, voided ON events
WHEN old.kind = 'concrete_sampling' AND old.voided = 0
BEGIN
  UPDATE sample_tallies SET n = sample_tallies.n - 1, fee_fen = sample_tallies.fee_fen - r.fee_fen
  FROM sample_tally_rows AS r
  WHERE r.event_id = old.id AND sample_tallies.report_on = r.report_on AND sample_tallies.result = r.result
    AND sample_tallies.sampled_on = r.sampled_on;
  DELETE FROM sample_tallies WHERE n = 0 AND sampled_on = old.day;
END;

CREATE TRIGGER sample_tallies_event_enter AFTER UPDATE OF id, kind, day, data, voided ON events
WHEN new.kind = 'concrete_sampling' AND new.voided = 0
BEGIN
  INSERT INTO sample_tallies (report_on, result, sampled_on, n, fee_fen)
  SELECT report_on, result, sampled_on, 1, fee_fen FROM sample_tally_rows WHERE event_id = new.id
  ON CONFLICT DO UPDATE SET n = n + 1, fee_fen = fee_fen + excluded.fee_fen;
END;

CREATE TRIGGER sample_tallies_event_delete BEFORE DELETE ON events
WHEN old.kind = 'concrete_sampling' AND old.voided = 0
BEGIN
  UPDATE sample_tallies SET n = sample_tallies.n - 1, fee_fen = sample_tallies.fee_fen - r.fee_fen
  FROM sample_tally_rows AS r
  WHERE r.event_id = old.id AND sample_tallies.report_on = r.report_on AND sample_tallies.result = r.result
    AND sample_tallies.sampled_on = r.sampled_on;
  DELETE FROM sample_tallies WHERE n = 0 AND sampled_on = old.day;
END;

-- A result (or a correction, a newer row) changes its sample's status.
CREATE TRIGGER sample_tallies_result_leave BEFORE INSERT ON sample_results
BEGIN
  UPDATE sample_tallies SET n = sample_tallies.n - 1, fee_fen = sample_tallies.fee_fen - r.fee_fen
  FROM sample_tally_rows AS r
  WHERE r.event_id = new.event_id AND sample_tallies.report_on = r.report_on AND sample_tallies.result = r.result
    AND sample_tallies.sampled_on = r.sampled_on;
  DELETE FROM sample_tallies WHERE n = 0 AND sampled_on IN (SELECT day FROM events WHERE id = new.event_id);
END;

CREATE TRIGGER sample_tallies_result_enter AFTER INSERT ON sample_results
BEGIN
  INSERT INTO sample_tallies (report_on, result, sampled_on, n, fee_fen)
  SELECT report_on, result, sampled_on, 1, fee_fen FROM sample_tally_rows WHERE event_id = new.event_id
  ON CONFLICT DO UPDATE SET n = n + 1, fee_fen = fee_fen + excluded.fee_fen;
END;

-- Results are never changed or deleted (a correction is a new row, samples.record_result): the table keeps
-- every entry, so a change or a deletion is refused rather than followed.
CREATE TRIGGER sample_results_kept_update BEFORE UPDATE ON sample_results
BEGIN
  SELECT RAISE(ABORT, 'sample_results rows are kept: add a newer row instead');
END;

CREATE TRIGGER sample_results_kept_delete BEFORE DELETE ON sample_results
BEGIN
  SELECT RAISE(ABORT, 'sample_results rows are kept: add a newer row instead');
END;

-- Failed results (不合格), which call for a notice: the lists of them read these two small indexes (a sample's
-- own result, by day; lab results, by report day) instead of every sample's status.
CREATE INDEX events_sample_failed ON events (day)
  WHERE kind = 'concrete_sampling' AND json_extract(data, '$.result') = '不合格';
CREATE INDEX sample_results_failed ON sample_results (report_on) WHERE result = '不合格';

-- Daily tallies of events, kept by triggers on events beside the monthly ones (005, 007), so that the month
-- under way costs what a closed month costs: the roll-up as of a day inside a month read that month's events
-- themselves (event_tally_rows, one row per event, every JSON field extracted again), so a mid-month figure
-- grew with the events of the month. It now sums the days of the month up to that day from this table.
--
-- Same key as event_tallies with the day in place of the month (the month is the day's first seven
-- characters, as events.store writes both from occurred_at), same rules: voided events are never tallied,
-- an edit or a void takes the event out of its old day tally and into its new one, the key is read from the
-- view event_tally_rows (007). The old key is taken off in BEFORE UPDATE, while the old row is still there;
-- a failing statement rolls that back with the rest.

CREATE TABLE event_day_tallies (
  kind TEXT NOT NULL,
  day TEXT NOT NULL,                -- YYYY-MM-DD, the station-local day of the event
  site_id INTEGER NOT NULL,
  plant_id INTEGER NOT NULL,
  campaign_id INTEGER NOT NULL,
  finding TEXT NOT NULL,
  result TEXT NOT NULL,
  conditions_met TEXT NOT NULL,
  lag_days INTEGER NOT NULL,
  n INTEGER NOT NULL,
  copies REAL NOT NULL,
  fee_yuan REAL NOT NULL,
  PRIMARY KEY (day, kind, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days)
) WITHOUT ROWID;

INSERT INTO event_day_tallies (kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days,
                               n, copies, fee_yuan)
SELECT kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days,
       count(*), total(copies), total(fee_yuan)
FROM event_tally_rows
WHERE voided = 0 AND event_rowid IN (SELECT rowid FROM events WHERE json_valid(data))
GROUP BY day, kind, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days;

CREATE TRIGGER event_day_tallies_insert AFTER INSERT ON events WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_day_tallies (kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met,
                                 lag_days, n, copies, fee_yuan)
  SELECT kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, copies, fee_yuan
  FROM event_tally_rows WHERE event_rowid = new.rowid
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

CREATE TRIGGER event_day_tallies_remove BEFORE UPDATE OF kind, day, month, site_id, plant_id, campaign_id, data, voided
ON events WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_day_tallies SET n = event_day_tallies.n - 1, copies = event_day_tallies.copies - r.copies,
         fee_yuan = event_day_tallies.fee_yuan - r.fee_yuan
  FROM event_tally_rows AS r
  WHERE r.event_rowid = old.rowid AND event_day_tallies.day = r.day AND event_day_tallies.kind = r.kind
    AND event_day_tallies.site_id = r.site_id AND event_day_tallies.plant_id = r.plant_id
    AND event_day_tallies.campaign_id = r.campaign_id AND event_day_tallies.finding = r.finding
    AND event_day_tallies.result = r.result AND event_day_tallies.conditions_met = r.conditions_met
    AND event_day_tallies.lag_days = r.lag_days;
  DELETE FROM event_day_tallies WHERE n = 0 AND day = old.day AND kind = old.kind;
END;

CREATE TRIGGER event_day_tallies_add AFTER UPDATE OF kind, day, month, site_id, plant_id, campaign_id, data, voided
ON events WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_day_tallies (kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met,
                                 lag_days, n, copies, fee_yuan)
  SELECT kind, day, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, copies, fee_yuan
  FROM event_tally_rows WHERE event_rowid = new.rowid
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

CREATE TRIGGER event_day_tallies_delete BEFORE DELETE ON events WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_day_tallies SET n = event_day_tallies.n - 1, copies = event_day_tallies.copies - r.copies,
         fee_yuan = event_day_tallies.fee_yuan - r.fee_yuan
  FROM event_tally_rows AS r
  WHERE r.event_rowid = old.rowid AND event_day_tallies.day = r.day AND event_day_tallies.kind = r.kind
    AND event_day_tallies.site_id = r.site_id AND event_day_tallies.plant_id = r.plant_id
    AND event_day_tallies.campaign_id = r.campaign_id AND event_day_tallies.finding = r.finding
    AND event_day_tallies.result = r.result AND event_day_tallies.conditions_met = r.conditions_met
    AND event_day_tallies.lag_days = r.lag_days;
  DELETE FROM event_day_tallies WHERE n = 0 AND day = old.day AND kind = old.kind;
END;

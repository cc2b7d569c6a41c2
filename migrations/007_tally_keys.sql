-- The tally key of an event defined once: the view event_tally_rows shows every event in the shape of
-- an event_tallies row (n = 1). The triggers below and the roll-up of the month under way (RAW in
-- fieldlog/indicators/rules.py) read it instead of each writing the key expressions out (005 wrote
-- them five times, rules.py a sixth).
--
-- Why a view and not generated columns on events: a generated column shows in `SELECT *`, and the
-- event API reads `e.*`, so every event's JSON would have grown nine fields (and every list of events
-- would compute them). A view is expanded into the query that reads it: the month under way costs
-- what it did, and a trigger reads one row by rowid.
--
-- A view cannot see OLD, and an AFTER trigger finds only the new row in events, so the old key is read
-- while the old row is still there: BEFORE UPDATE copies it into event_tallies_leaving, then the AFTER
-- UPDATE triggers add the new key and take the copied old one off. That is the same additions and
-- subtractions in the same order as 005's triggers, so sums of decimal fees come out to the same bit.
-- The stored tallies are not touched: they are what the new triggers would have made.

CREATE VIEW event_tally_rows AS
SELECT events.rowid AS event_rowid, voided, day,
       kind, month, coalesce(site_id, 0) AS site_id, coalesce(plant_id, 0) AS plant_id,
       coalesce(campaign_id, 0) AS campaign_id,
       coalesce(json_extract(data, '$.finding'), '') AS finding,
       coalesce(json_extract(data, '$.result'), '') AS result,
       coalesce(json_extract(data, '$.conditions_met'), '') AS conditions_met,
       coalesce(CAST(julianday(json_extract(data, '$.filed_on')) - julianday(json_extract(data, '$.accepted_on')) AS INTEGER),
                CAST(julianday(json_extract(data, '$.issued_on')) - julianday(json_extract(data, '$.applied_on')) AS INTEGER),
                -1000000) AS lag_days,
       1 AS n,
       coalesce(json_extract(data, '$.copies'), 0) AS copies,
       coalesce(json_extract(data, '$.fee_yuan'), 0) AS fee_yuan
FROM events;

-- The old key of an event being updated, kept from BEFORE UPDATE to AFTER UPDATE of the same row
-- (empty between statements). The key columns have the types of event_tallies, so they compare as
-- the key expressions of 005 did; the amounts have none, so they are subtracted as computed.
CREATE TABLE event_tallies_leaving (
  event_rowid INTEGER PRIMARY KEY,
  kind TEXT, month TEXT, site_id INTEGER, plant_id INTEGER, campaign_id INTEGER, finding TEXT, result TEXT,
  conditions_met TEXT, lag_days INTEGER, copies, fee_yuan
);

DROP TRIGGER event_tallies_insert;
DROP TRIGGER event_tallies_remove;
DROP TRIGGER event_tallies_add;
DROP TRIGGER event_tallies_delete;

CREATE TRIGGER event_tallies_insert AFTER INSERT ON events WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_tallies (kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days,
                             n, copies, fee_yuan)
  SELECT kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, copies, fee_yuan
  FROM event_tally_rows WHERE event_rowid = new.rowid
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

CREATE TRIGGER event_tallies_before_update BEFORE UPDATE OF kind, month, site_id, plant_id, campaign_id, data, voided ON events
WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  INSERT OR REPLACE INTO event_tallies_leaving
  SELECT event_rowid, kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, copies, fee_yuan
  FROM event_tally_rows WHERE event_rowid = old.rowid;
END;

-- SQLite fires the triggers of one event newest first: _add (created after _remove) runs first, as in 005.
CREATE TRIGGER event_tallies_remove AFTER UPDATE OF kind, month, site_id, plant_id, campaign_id, data, voided ON events
WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_tallies SET n = event_tallies.n - 1, copies = event_tallies.copies - l.copies,
         fee_yuan = event_tallies.fee_yuan - l.fee_yuan
  FROM event_tallies_leaving AS l
  WHERE l.event_rowid = old.rowid AND event_tallies.kind = l.kind AND event_tallies.month = l.month
    AND event_tallies.site_id = l.site_id AND event_tallies.plant_id = l.plant_id
    AND event_tallies.campaign_id = l.campaign_id AND event_tallies.finding = l.finding
    AND event_tallies.result = l.result AND event_tallies.conditions_met = l.conditions_met
    AND event_tallies.lag_days = l.lag_days;
  DELETE FROM event_tallies_leaving WHERE event_rowid = old.rowid;
  DELETE FROM event_tallies WHERE n = 0 AND kind = old.kind AND month = old.month;
END;

CREATE TRIGGER event_tallies_add AFTER UPDATE OF kind, month, site_id, plant_id, campaign_id, data, voided ON events
WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_tallies (kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days,
                             n, copies, fee_yuan)
  SELECT kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days, n, copies, fee_yuan
  FROM event_tally_rows WHERE event_rowid = new.rowid
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

-- Events are never deleted (an event is voided); should one be, its key is read before it goes.
CREATE TRIGGER event_tallies_delete BEFORE DELETE ON events WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_tallies SET n = event_tallies.n - 1, copies = event_tallies.copies - r.copies,
         fee_yuan = event_tallies.fee_yuan - r.fee_yuan
  FROM event_tally_rows AS r
  WHERE r.event_rowid = old.rowid AND event_tallies.kind = r.kind AND event_tallies.month = r.month
    AND event_tallies.site_id = r.site_id AND event_tallies.plant_id = r.plant_id
    AND event_tallies.campaign_id = r.campaign_id AND event_tallies.finding = r.finding
    AND event_tallies.result = r.result AND event_tallies.conditions_met = r.conditions_met
    AND event_tallies.lag_days = r.lag_days;
  DELETE FROM event_tallies WHERE n = 0 AND kind = old.kind AND month = old.month;
END;

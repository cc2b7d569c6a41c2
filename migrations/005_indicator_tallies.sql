-- Monthly tallies of events for the indicator roll-up, kept by triggers on events.
--
-- SQLite before 3.41 reads the table row for every event whose JSON fields a query touches, even
-- with an index on the expression, so pooled rates over a year of events cost a row lookup each.
-- The roll-up reads whole months from this table instead (tens of thousands of rows whatever the
-- number of events) and only the month under way from events. Voided events are never tallied;
-- an edit or a void moves the event out of its old tally and into its new one.
-- Key columns hold 0 / '' / -1000000 instead of NULL so they can form the primary key.

-- The JSON expression indexes of 003 turned out not to be covering on SQLite 3.40 (every matching
-- event is still read from the table); the tallies replace them, so they go.
DROP INDEX events_kind_month_finding;
DROP INDEX events_kind_month_result;

CREATE TABLE event_tallies (
  kind TEXT NOT NULL,
  month TEXT NOT NULL,
  site_id INTEGER NOT NULL,
  plant_id INTEGER NOT NULL,
  campaign_id INTEGER NOT NULL,
  finding TEXT NOT NULL,            -- data.finding (site patrols and inspections)
  result TEXT NOT NULL,             -- data.result (concrete, plant inspections, completion filings)
  conditions_met TEXT NOT NULL,     -- data.conditions_met (permits)
  lag_days INTEGER NOT NULL,        -- days from accepted_on to filed_on, or applied_on to issued_on
  n INTEGER NOT NULL,               -- number of events
  copies REAL NOT NULL,             -- Σ data.copies
  fee_yuan REAL NOT NULL,           -- Σ data.fee_yuan
  PRIMARY KEY (kind, month, site_id, plant_id, campaign_id, finding, result, conditions_met, lag_days)
) WITHOUT ROWID;

INSERT INTO event_tallies
SELECT kind, month, coalesce(site_id, 0), coalesce(plant_id, 0), coalesce(campaign_id, 0),
       coalesce(json_extract(data, '$.finding'), ''), coalesce(json_extract(data, '$.result'), ''),
       coalesce(json_extract(data, '$.conditions_met'), ''),
       coalesce(CAST(julianday(json_extract(data, '$.filed_on')) - julianday(json_extract(data, '$.accepted_on')) AS INTEGER),
                CAST(julianday(json_extract(data, '$.issued_on')) - julianday(json_extract(data, '$.applied_on')) AS INTEGER),
                -1000000),
       count(*), total(json_extract(data, '$.copies')), total(json_extract(data, '$.fee_yuan'))
FROM events WHERE voided = 0 AND json_valid(data)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

CREATE TRIGGER event_tallies_insert AFTER INSERT ON events WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_tallies VALUES (
    new.kind, new.month, coalesce(new.site_id, 0), coalesce(new.plant_id, 0), coalesce(new.campaign_id, 0),
    coalesce(json_extract(new.data, '$.finding'), ''), coalesce(json_extract(new.data, '$.result'), ''),
    coalesce(json_extract(new.data, '$.conditions_met'), ''),
    coalesce(CAST(julianday(json_extract(new.data, '$.filed_on')) - julianday(json_extract(new.data, '$.accepted_on')) AS INTEGER),
             CAST(julianday(json_extract(new.data, '$.issued_on')) - julianday(json_extract(new.data, '$.applied_on')) AS INTEGER),
             -1000000),
    1, coalesce(json_extract(new.data, '$.copies'), 0), coalesce(json_extract(new.data, '$.fee_yuan'), 0))
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

CREATE TRIGGER event_tallies_remove AFTER UPDATE OF kind, month, site_id, plant_id, campaign_id, data, voided ON events
WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_tallies SET n = n - 1, copies = copies - coalesce(json_extract(old.data, '$.copies'), 0),
         fee_yuan = fee_yuan - coalesce(json_extract(old.data, '$.fee_yuan'), 0)
  WHERE kind = old.kind AND month = old.month AND site_id = coalesce(old.site_id, 0)
    AND plant_id = coalesce(old.plant_id, 0) AND campaign_id = coalesce(old.campaign_id, 0)
    AND finding = coalesce(json_extract(old.data, '$.finding'), '') AND result = coalesce(json_extract(old.data, '$.result'), '')
    AND conditions_met = coalesce(json_extract(old.data, '$.conditions_met'), '')
    AND lag_days = coalesce(CAST(julianday(json_extract(old.data, '$.filed_on')) - julianday(json_extract(old.data, '$.accepted_on')) AS INTEGER),
                            CAST(julianday(json_extract(old.data, '$.issued_on')) - julianday(json_extract(old.data, '$.applied_on')) AS INTEGER),
                            -1000000);
  DELETE FROM event_tallies WHERE n = 0 AND kind = old.kind AND month = old.month;
END;

CREATE TRIGGER event_tallies_add AFTER UPDATE OF kind, month, site_id, plant_id, campaign_id, data, voided ON events
WHEN new.voided = 0 AND json_valid(new.data)
BEGIN
  INSERT INTO event_tallies VALUES (
    new.kind, new.month, coalesce(new.site_id, 0), coalesce(new.plant_id, 0), coalesce(new.campaign_id, 0),
    coalesce(json_extract(new.data, '$.finding'), ''), coalesce(json_extract(new.data, '$.result'), ''),
    coalesce(json_extract(new.data, '$.conditions_met'), ''),
    coalesce(CAST(julianday(json_extract(new.data, '$.filed_on')) - julianday(json_extract(new.data, '$.accepted_on')) AS INTEGER),
             CAST(julianday(json_extract(new.data, '$.issued_on')) - julianday(json_extract(new.data, '$.applied_on')) AS INTEGER),
             -1000000),
    1, coalesce(json_extract(new.data, '$.copies'), 0), coalesce(json_extract(new.data, '$.fee_yuan'), 0))
  ON CONFLICT DO UPDATE SET n = n + excluded.n, copies = copies + excluded.copies, fee_yuan = fee_yuan + excluded.fee_yuan;
END;

CREATE TRIGGER event_tallies_delete AFTER DELETE ON events WHEN old.voided = 0 AND json_valid(old.data)
BEGIN
  UPDATE event_tallies SET n = n - 1, copies = copies - coalesce(json_extract(old.data, '$.copies'), 0),
         fee_yuan = fee_yuan - coalesce(json_extract(old.data, '$.fee_yuan'), 0)
  WHERE kind = old.kind AND month = old.month AND site_id = coalesce(old.site_id, 0)
    AND plant_id = coalesce(old.plant_id, 0) AND campaign_id = coalesce(old.campaign_id, 0)
    AND finding = coalesce(json_extract(old.data, '$.finding'), '') AND result = coalesce(json_extract(old.data, '$.result'), '')
    AND conditions_met = coalesce(json_extract(old.data, '$.conditions_met'), '')
    AND lag_days = coalesce(CAST(julianday(json_extract(old.data, '$.filed_on')) - julianday(json_extract(old.data, '$.accepted_on')) AS INTEGER),
                            CAST(julianday(json_extract(old.data, '$.issued_on')) - julianday(json_extract(old.data, '$.applied_on')) AS INTEGER),
                            -1000000);
  DELETE FROM event_tallies WHERE n = 0 AND kind = old.kind AND month = old.month;
END;

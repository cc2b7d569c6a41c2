-- Narrow summaries of the monthly tallies (005) for the roll-up's reads that need only a few of their columns,
-- kept by triggers on event_tallies itself (so they are by construction event_tallies grouped by fewer columns).
--
-- A year of event_tallies holds tens of thousands of rows (one per site, month and every combination of
-- finding, result, campaign, lag seen there), and the roll-up read them all for figures that need far less:
-- the 3-kind finding ratio, counts and distinct campaigns need no site (a few thousand rows in all years);
-- the per-site counts need no finding or campaign (one row per site-month); the campaign visits ask only which
-- sites a campaign reached in the year's months up to as_of: the first month of the year it reached each.
--
--   event_kind_tallies      (kind, month, campaign_id, finding, result, conditions_met, lag_days) -> n
--   event_site_tallies      (kind, month, site_id, plant_id) -> n
--   event_campaign_tallies  (kind, campaign_id, site_id, month) -> n, campaign events only (campaign_id != 0)
--   event_campaign_sites    (kind, year, campaign_id, site_id) -> first_month: the earliest month of the year
--                           in event_campaign_tallies (kept by triggers on it; read by the roll-up)
--   event_day_kind_tallies  (day, kind, campaign_id, finding, result, conditions_met, lag_days) -> n: the daily
--                           tallies (022) without site and plant, for the month under way's counts by kind
--                           and category (kept by triggers on event_day_tallies)
--
-- Only counts: the amounts (copies, fee_yuan) stay in event_tallies, where they are added up event by event in
-- one order (summing them again in another order could change a float's last bit). A summary row whose count
-- falls to 0 is deleted, as event_tallies deletes its own.

CREATE TABLE event_kind_tallies (
  kind TEXT NOT NULL,
  month TEXT NOT NULL,
  campaign_id INTEGER NOT NULL,
  finding TEXT NOT NULL,
  result TEXT NOT NULL,
  conditions_met TEXT NOT NULL,
  lag_days INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (kind, month, campaign_id, finding, result, conditions_met, lag_days)
) WITHOUT ROWID;

CREATE TABLE event_site_tallies (
  kind TEXT NOT NULL,
  month TEXT NOT NULL,
  site_id INTEGER NOT NULL,
  plant_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (kind, month, site_id, plant_id)
) WITHOUT ROWID;

CREATE TABLE event_campaign_tallies (
  kind TEXT NOT NULL,
  month TEXT NOT NULL,
  campaign_id INTEGER NOT NULL,
  site_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (kind, campaign_id, site_id, month)
) WITHOUT ROWID;

CREATE TABLE event_campaign_sites (
  kind TEXT NOT NULL,
  year TEXT NOT NULL,               -- the month's first four characters
  campaign_id INTEGER NOT NULL,
  site_id INTEGER NOT NULL,
  first_month TEXT NOT NULL,
  PRIMARY KEY (kind, year, campaign_id, site_id)
) WITHOUT ROWID;

-- Filled from event_tallies (not from events): one pass over its primary key each.
INSERT INTO event_kind_tallies (kind, month, campaign_id, finding, result, conditions_met, lag_days, n)
SELECT kind, month, campaign_id, finding, result, conditions_met, lag_days, sum(n) FROM event_tallies
GROUP BY kind, month, campaign_id, finding, result, conditions_met, lag_days HAVING sum(n) != 0;

INSERT INTO event_site_tallies (kind, month, site_id, plant_id, n)
SELECT kind, month, site_id, plant_id, sum(n) FROM event_tallies
GROUP BY kind, month, site_id, plant_id HAVING sum(n) != 0;

INSERT INTO event_campaign_tallies (kind, month, campaign_id, site_id, n)
SELECT kind, month, campaign_id, site_id, sum(n) FROM event_tallies WHERE campaign_id != 0
GROUP BY kind, month, campaign_id, site_id HAVING sum(n) != 0;

INSERT INTO event_campaign_sites (kind, year, campaign_id, site_id, first_month)
SELECT kind, substr(month, 1, 4), campaign_id, site_id, min(month) FROM event_campaign_tallies
GROUP BY kind, campaign_id, site_id, substr(month, 1, 4);

-- A campaign's site reached in a month: that month is the year's first if none earlier was.
CREATE TRIGGER event_campaign_sites_insert AFTER INSERT ON event_campaign_tallies
BEGIN
  INSERT INTO event_campaign_sites (kind, year, campaign_id, site_id, first_month)
  VALUES (new.kind, substr(new.month, 1, 4), new.campaign_id, new.site_id, new.month)
  ON CONFLICT DO UPDATE SET first_month = min(first_month, excluded.first_month);
END;

-- A month left without events of the campaign at the site: the year's first month looked up again (an index
-- range of that campaign and site), and the row deleted when no month of the year is left.
CREATE TRIGGER event_campaign_sites_delete AFTER DELETE ON event_campaign_tallies
BEGIN
  UPDATE event_campaign_sites SET first_month = coalesce((
    SELECT min(month) FROM event_campaign_tallies
    WHERE kind = old.kind AND campaign_id = old.campaign_id AND site_id = old.site_id
      AND month BETWEEN substr(old.month, 1, 4) || '-00' AND substr(old.month, 1, 4) || '-99'), '')
  WHERE kind = old.kind AND year = substr(old.month, 1, 4) AND campaign_id = old.campaign_id
    AND site_id = old.site_id AND first_month = old.month;
  DELETE FROM event_campaign_sites
  WHERE kind = old.kind AND year = substr(old.month, 1, 4) AND campaign_id = old.campaign_id
    AND site_id = old.site_id AND first_month = '';
END;

-- A tally row added: its count added to each summary.
CREATE TRIGGER event_kind_tallies_insert AFTER INSERT ON event_tallies
BEGIN
  INSERT INTO event_kind_tallies (kind, month, campaign_id, finding, result, conditions_met, lag_days, n)
  VALUES (new.kind, new.month, new.campaign_id, new.finding, new.result, new.conditions_met, new.lag_days, new.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO event_site_tallies (kind, month, site_id, plant_id, n)
  VALUES (new.kind, new.month, new.site_id, new.plant_id, new.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO event_campaign_tallies (kind, month, campaign_id, site_id, n)
  SELECT new.kind, new.month, new.campaign_id, new.site_id, new.n WHERE new.campaign_id != 0
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- A tally row's count changed (what the event triggers do; its key stays, see _fixed_key): the difference added.
CREATE TRIGGER event_kind_tallies_count AFTER UPDATE OF n ON event_tallies
BEGIN
  UPDATE event_kind_tallies SET n = n + new.n - old.n
  WHERE kind = new.kind AND month = new.month AND campaign_id = new.campaign_id AND finding = new.finding
    AND result = new.result AND conditions_met = new.conditions_met AND lag_days = new.lag_days;
  UPDATE event_site_tallies SET n = n + new.n - old.n
  WHERE kind = new.kind AND month = new.month AND site_id = new.site_id AND plant_id = new.plant_id;
  UPDATE event_campaign_tallies SET n = n + new.n - old.n
  WHERE new.campaign_id != 0 AND kind = new.kind AND month = new.month AND campaign_id = new.campaign_id
    AND site_id = new.site_id;
  DELETE FROM event_kind_tallies
  WHERE new.n < old.n AND kind = new.kind AND month = new.month AND campaign_id = new.campaign_id
    AND finding = new.finding AND result = new.result AND conditions_met = new.conditions_met
    AND lag_days = new.lag_days AND n = 0;
  DELETE FROM event_site_tallies
  WHERE new.n < old.n AND kind = new.kind AND month = new.month AND site_id = new.site_id
    AND plant_id = new.plant_id AND n = 0;
  DELETE FROM event_campaign_tallies
  WHERE new.n < old.n AND new.campaign_id != 0 AND kind = new.kind AND month = new.month
    AND campaign_id = new.campaign_id AND site_id = new.site_id AND n = 0;
END;

-- A tally row's key never changes (the event triggers change counts only, and add or delete rows); a hand
-- correction that would change one is refused rather than followed, so the summaries stay its grouping.
CREATE TRIGGER event_kind_tallies_fixed_key BEFORE UPDATE OF kind, month, site_id, plant_id, campaign_id, finding,
  result, conditions_met, lag_days ON event_tallies
WHEN NOT (new.kind IS old.kind AND new.month IS old.month AND new.site_id IS old.site_id
 AND new.plant_id IS old.plant_id AND new.campaign_id IS old.campaign_id AND new.finding IS old.finding
 AND new.result IS old.result AND new.conditions_met IS old.conditions_met AND new.lag_days IS old.lag_days)
BEGIN
  SELECT RAISE(ABORT, 'the key of an event_tallies row is not changed: delete the row and insert the new one');
END;

-- A tally row deleted (the event triggers delete those whose count reached 0): its count taken off.
CREATE TRIGGER event_kind_tallies_delete AFTER DELETE ON event_tallies
BEGIN
  UPDATE event_kind_tallies SET n = n - old.n
  WHERE old.n != 0 AND kind = old.kind AND month = old.month AND campaign_id = old.campaign_id
    AND finding = old.finding AND result = old.result AND conditions_met = old.conditions_met
    AND lag_days = old.lag_days;
  UPDATE event_site_tallies SET n = n - old.n
  WHERE old.n != 0 AND kind = old.kind AND month = old.month AND site_id = old.site_id AND plant_id = old.plant_id;
  UPDATE event_campaign_tallies SET n = n - old.n
  WHERE old.n != 0 AND kind = old.kind AND month = old.month AND campaign_id = old.campaign_id
    AND site_id = old.site_id;
  DELETE FROM event_kind_tallies
  WHERE kind = old.kind AND month = old.month AND campaign_id = old.campaign_id AND finding = old.finding
    AND result = old.result AND conditions_met = old.conditions_met AND lag_days = old.lag_days AND n = 0;
  DELETE FROM event_site_tallies
  WHERE kind = old.kind AND month = old.month AND site_id = old.site_id AND plant_id = old.plant_id AND n = 0;
  DELETE FROM event_campaign_tallies
  WHERE kind = old.kind AND month = old.month AND campaign_id = old.campaign_id AND site_id = old.site_id AND n = 0;
END;

-- The daily tallies' counts by kind and category (the month under way's share of event_kind_tallies).
CREATE TABLE event_day_kind_tallies (
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  campaign_id INTEGER NOT NULL,
  finding TEXT NOT NULL,
  result TEXT NOT NULL,
  conditions_met TEXT NOT NULL,
  lag_days INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (day, kind, campaign_id, finding, result, conditions_met, lag_days)
) WITHOUT ROWID;

INSERT INTO event_day_kind_tallies (day, kind, campaign_id, finding, result, conditions_met, lag_days, n)
SELECT day, kind, campaign_id, finding, result, conditions_met, lag_days, sum(n) FROM event_day_tallies
GROUP BY day, kind, campaign_id, finding, result, conditions_met, lag_days HAVING sum(n) != 0;

CREATE TRIGGER event_day_kind_tallies_insert AFTER INSERT ON event_day_tallies
BEGIN
  INSERT INTO event_day_kind_tallies (day, kind, campaign_id, finding, result, conditions_met, lag_days, n)
  VALUES (new.day, new.kind, new.campaign_id, new.finding, new.result, new.conditions_met, new.lag_days, new.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER event_day_kind_tallies_count AFTER UPDATE OF n ON event_day_tallies
BEGIN
  UPDATE event_day_kind_tallies SET n = n + new.n - old.n
  WHERE day = new.day AND kind = new.kind AND campaign_id = new.campaign_id AND finding = new.finding
    AND result = new.result AND conditions_met = new.conditions_met AND lag_days = new.lag_days;
  DELETE FROM event_day_kind_tallies
  WHERE new.n < old.n AND day = new.day AND kind = new.kind AND campaign_id = new.campaign_id
    AND finding = new.finding AND result = new.result AND conditions_met = new.conditions_met
    AND lag_days = new.lag_days AND n = 0;
END;

CREATE TRIGGER event_day_kind_tallies_fixed_key BEFORE UPDATE OF day, kind, site_id, plant_id, campaign_id, finding,
  result, conditions_met, lag_days ON event_day_tallies
WHEN NOT (new.day IS old.day AND new.kind IS old.kind AND new.site_id IS old.site_id
 AND new.plant_id IS old.plant_id AND new.campaign_id IS old.campaign_id AND new.finding IS old.finding
 AND new.result IS old.result AND new.conditions_met IS old.conditions_met AND new.lag_days IS old.lag_days)
BEGIN
  SELECT RAISE(ABORT, 'the key of an event_day_tallies row is not changed: delete the row and insert the new one');
END;

CREATE TRIGGER event_day_kind_tallies_delete AFTER DELETE ON event_day_tallies
BEGIN
  UPDATE event_day_kind_tallies SET n = n - old.n
  WHERE old.n != 0 AND day = old.day AND kind = old.kind AND campaign_id = old.campaign_id
    AND finding = old.finding AND result = old.result AND conditions_met = old.conditions_met
    AND lag_days = old.lag_days;
  DELETE FROM event_day_kind_tallies
  WHERE day = old.day AND kind = old.kind AND campaign_id = old.campaign_id AND finding = old.finding
    AND result = old.result AND conditions_met = old.conditions_met AND lag_days = old.lag_days AND n = 0;
END;

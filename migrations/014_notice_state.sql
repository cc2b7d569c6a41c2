-- Open rectification notices as an indexed lookup instead of a read of every notice and every review.
--
-- notice_state holds one row per notice: a non-voided safety or enforcement patrol carrying a notice_no
-- that issued an order (an enforcement patrol's order other than none; the rule of events.notices.order_of),
-- with closed_on, the day of the first non-voided closing review dated on or after the notice
-- ('9999-12-31' while none has closed it). A notice is open as of a day D when it was issued on or before D
-- and closed_on > D: an index range, whatever the number of notices and reviews ever stored.
-- Triggers on events keep it, like event_tallies (005, 007): a patrol's row is made again when the patrol
-- changes, and a review's notice has closed_on worked out again from its reviews when the review comes,
-- changes or goes. Reviews are found through the index below (008 dropped it when nothing looked reviews
-- up by notice on a write; the triggers here do).

CREATE INDEX events_review_notice_of ON events(json_extract(data, '$.notice_event_id'))
  WHERE kind = 'rectification_review';

-- One day's events (the phone's list of today, recorded by or with an inspector) through an index on the
-- day: the recorded_by index and event_inspectors hold every event of the inspector ever.
CREATE INDEX events_day ON events(day);

CREATE TABLE notice_state (
  event_id TEXT PRIMARY KEY REFERENCES events(id),
  site_id INTEGER,
  day TEXT NOT NULL,              -- the station-local day the notice was issued
  occurred_at TEXT NOT NULL,
  deadline TEXT,                  -- data.notice_deadline as stored
  closed_on TEXT NOT NULL         -- day of the first closing review, '9999-12-31' while open
) WITHOUT ROWID;
CREATE INDEX notice_state_closed ON notice_state(closed_on, day);
CREATE INDEX notice_state_day ON notice_state(day);
CREATE INDEX notice_state_site ON notice_state(site_id, closed_on);

-- The notices of one view: every qualifying event in the shape of a notice_state row.
CREATE VIEW notice_state_rows AS
SELECT e.id AS event_id, e.site_id, e.day, e.occurred_at, json_extract(e.data, '$.notice_deadline') AS deadline,
       coalesce((SELECT min(r.day) FROM events r INDEXED BY events_review_notice_of
                 WHERE json_extract(r.data, '$.notice_event_id') = e.id AND r.kind = 'rectification_review'
                   AND r.voided = 0 AND coalesce(json_extract(r.data, '$.closed'), 0) NOT IN (0, '')
                   AND julianday(r.occurred_at) >= julianday(e.occurred_at)), '9999-12-31') AS closed_on
FROM events e
WHERE e.kind IN ('enforcement_patrol', 'safety_patrol') AND e.voided = 0 AND json_valid(e.data)
  AND json_extract(e.data, '$.notice_no') IS NOT NULL
  AND (e.kind = 'safety_patrol' OR coalesce(json_extract(e.data, '$.order'), 'none') NOT IN ('none', '无'));

INSERT INTO notice_state SELECT * FROM notice_state_rows;

CREATE TRIGGER notice_state_insert AFTER INSERT ON events
WHEN new.kind IN ('enforcement_patrol', 'safety_patrol', 'rectification_review')
BEGIN
  INSERT INTO notice_state SELECT * FROM notice_state_rows WHERE event_id = new.id;
  UPDATE notice_state SET closed_on = (SELECT closed_on FROM notice_state_rows v WHERE v.event_id = notice_state.event_id)
  WHERE new.kind = 'rectification_review' AND json_valid(new.data)
    AND event_id = json_extract(new.data, '$.notice_event_id');
END;

CREATE TRIGGER notice_state_update AFTER UPDATE OF id, kind, day, occurred_at, site_id, data, voided ON events
WHEN old.kind IN ('enforcement_patrol', 'safety_patrol', 'rectification_review')
  OR new.kind IN ('enforcement_patrol', 'safety_patrol', 'rectification_review')
BEGIN
  DELETE FROM notice_state WHERE event_id = old.id;
  INSERT INTO notice_state SELECT * FROM notice_state_rows WHERE event_id = new.id;
  UPDATE notice_state SET closed_on = (SELECT closed_on FROM notice_state_rows v WHERE v.event_id = notice_state.event_id)
  WHERE event_id IN (CASE WHEN old.kind = 'rectification_review' AND json_valid(old.data)
                          THEN json_extract(old.data, '$.notice_event_id') END,
                     CASE WHEN new.kind = 'rectification_review' AND json_valid(new.data)
                          THEN json_extract(new.data, '$.notice_event_id') END);
END;

CREATE TRIGGER notice_state_delete AFTER DELETE ON events
WHEN old.kind IN ('enforcement_patrol', 'safety_patrol', 'rectification_review')
BEGIN
  DELETE FROM notice_state WHERE event_id = old.id;
  UPDATE notice_state SET closed_on = (SELECT closed_on FROM notice_state_rows v WHERE v.event_id = notice_state.event_id)
  WHERE old.kind = 'rectification_review' AND json_valid(old.data)
    AND event_id = json_extract(old.data, '$.notice_event_id');
END;

-- 014's view compared each review's notice_event_id with e.id, a TEXT column: SQLite then applies TEXT affinity
-- to the indexed expression, which has none, so it cannot search events_review_notice_of by that value and
-- read every review for every notice (quadratic in the triggers and the fill). `+e.id` has no affinity: the
-- search is an index lookup again. Same view otherwise; the triggers are made again because they read it.
-- notice_state is filled once more through the new view (the same rows: only the plan changes).

DROP TRIGGER notice_state_insert;
DROP TRIGGER notice_state_update;
DROP TRIGGER notice_state_delete;
DROP VIEW notice_state_rows;

CREATE VIEW notice_state_rows AS
SELECT e.id AS event_id, e.site_id, e.day, e.occurred_at, json_extract(e.data, '$.notice_deadline') AS deadline,
       coalesce((SELECT min(r.day) FROM events r INDEXED BY events_review_notice_of
                 WHERE json_extract(r.data, '$.notice_event_id') = +e.id AND r.kind = 'rectification_review'
                   AND r.voided = 0 AND coalesce(json_extract(r.data, '$.closed'), 0) NOT IN (0, '')
                   AND julianday(r.occurred_at) >= julianday(e.occurred_at)), '9999-12-31') AS closed_on
FROM events e
WHERE e.kind IN ('enforcement_patrol', 'safety_patrol') AND e.voided = 0 AND json_valid(e.data)
  AND json_extract(e.data, '$.notice_no') IS NOT NULL
  AND (e.kind = 'safety_patrol' OR coalesce(json_extract(e.data, '$.order'), 'none') NOT IN ('none', '无'));

DELETE FROM notice_state;
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

-- The order of an enforcement patrol (data.order) is stored as an English value from now on:
-- 无 -> none, 整改 -> rectify, 停工整改 -> stop_work (labels in fieldlog/messages.py, LABELS["order"]).
-- Input still accepts the Chinese labels, and content_hash hashes choices by their label, so the
-- content_hash of events stored before this step stays valid and is left alone.
--
-- Rewriting data fires the tally triggers of 005 (AFTER UPDATE OF data): each event leaves its tally
-- and enters the same one again, since `order` is not a tally key. version and updated_at stay: this
-- is no correction by anyone.

UPDATE events
SET data = json_set(data, '$.order', CASE json_extract(data, '$.order')
                                       WHEN '无' THEN 'none' WHEN '整改' THEN 'rectify' WHEN '停工整改' THEN 'stop_work' END)
WHERE kind = 'enforcement_patrol' AND json_valid(data)
  AND json_extract(data, '$.order') IN ('无', '整改', '停工整改');

-- The history keeps snapshots of earlier states: their order reads the same way as the event's own.
UPDATE event_revisions
SET before = json_set(before, '$.fields.order', CASE json_extract(before, '$.fields.order')
                                                  WHEN '无' THEN 'none' WHEN '整改' THEN 'rectify'
                                                  WHEN '停工整改' THEN 'stop_work' END)
WHERE json_valid(before) AND json_extract(before, '$.kind') = 'enforcement_patrol'
  AND json_extract(before, '$.fields.order') IN ('无', '整改', '停工整改');

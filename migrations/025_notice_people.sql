-- notice_people: one row per notice (notice_state) and person who sees it (visible_to: its recorder and each of
-- its inspectors), with the notice's issue day and time, deadline and closing day. An inspector's open notices are then an
-- index range of their own (user_id, closed_on, day), read without checking every open notice of the station
-- against event_inspectors (the inspector's home, "my follow-ups"). Kept by triggers on notice_state (which
-- follows the events) and on event_inspectors (an edit changes who took part).
-- notice_state_deadline orders the notices still open by deadline: the phone's review picker reads its page of
-- the earliest deadlines from it instead of sorting every open notice; and it holds every column the follow-ups
-- sort and count the open notices by, so those read the index alone.

CREATE INDEX notice_state_deadline ON notice_state(closed_on, deadline, occurred_at, day);
-- The same keys by issue day: a year of notices, closed ones included, sorted and counted from the index alone.
CREATE INDEX notice_state_day_keys ON notice_state(day, closed_on, deadline, occurred_at);

CREATE TABLE notice_people (
  user_id INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  day TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  deadline TEXT,
  closed_on TEXT NOT NULL,
  PRIMARY KEY (user_id, event_id)
) WITHOUT ROWID;
CREATE INDEX notice_people_open ON notice_people(user_id, closed_on, deadline, occurred_at, day);
CREATE INDEX notice_people_day ON notice_people(user_id, day);
CREATE INDEX notice_people_event ON notice_people(event_id);

INSERT INTO notice_people (user_id, event_id, day, occurred_at, deadline, closed_on)
SELECT e.recorded_by, ns.event_id, ns.day, ns.occurred_at, ns.deadline, ns.closed_on
FROM notice_state ns JOIN events e ON e.id = ns.event_id
UNION
SELECT ei.user_id, ns.event_id, ns.day, ns.occurred_at, ns.deadline, ns.closed_on
FROM notice_state ns JOIN event_inspectors ei ON ei.event_id = ns.event_id;

CREATE TRIGGER notice_people_insert AFTER INSERT ON notice_state
BEGIN
  INSERT OR IGNORE INTO notice_people (user_id, event_id, day, occurred_at, deadline, closed_on)
  SELECT e.recorded_by, new.event_id, new.day, new.occurred_at, new.deadline, new.closed_on FROM events e
  WHERE e.id = new.event_id
  UNION
  SELECT ei.user_id, new.event_id, new.day, new.occurred_at, new.deadline, new.closed_on FROM event_inspectors ei
  WHERE ei.event_id = new.event_id;
END;

CREATE TRIGGER notice_people_update AFTER UPDATE ON notice_state
BEGIN
  UPDATE notice_people SET event_id = new.event_id, day = new.day, occurred_at = new.occurred_at,
    deadline = new.deadline, closed_on = new.closed_on
  WHERE event_id = old.event_id;
END;

CREATE TRIGGER notice_people_delete AFTER DELETE ON notice_state
BEGIN
  DELETE FROM notice_people WHERE event_id = old.event_id;
END;

CREATE TRIGGER notice_people_inspector_insert AFTER INSERT ON event_inspectors
BEGIN
  INSERT OR IGNORE INTO notice_people (user_id, event_id, day, occurred_at, deadline, closed_on)
  SELECT new.user_id, ns.event_id, ns.day, ns.occurred_at, ns.deadline, ns.closed_on FROM notice_state ns
  WHERE ns.event_id = new.event_id;
END;

CREATE TRIGGER notice_people_inspector_delete AFTER DELETE ON event_inspectors
BEGIN
  DELETE FROM notice_people WHERE event_id = old.event_id AND user_id = old.user_id
    AND user_id IS NOT (SELECT recorded_by FROM events WHERE id = old.event_id);
END;

-- Returns for correction (退回补正): the chief returns an entry to its inspector with a reason, the inspector
-- corrects it (through the ordinary edit, kept in event_revisions) and sends it back, the chief closes the
-- return or returns it again. Nothing is deleted: a return is a thread of steps, each with its time and user.
-- Its state is the action of its newest step (fieldlog/returns.py), never stored twice.

CREATE TABLE event_returns (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES events(id),
  opened_by INTEGER NOT NULL REFERENCES users(id),
  opened_at TEXT NOT NULL                 -- UTC ISO, the first step's time
);
CREATE INDEX event_returns_event ON event_returns(event_id);

CREATE TABLE return_steps (
  id INTEGER PRIMARY KEY,
  return_id INTEGER NOT NULL REFERENCES event_returns(id),
  action TEXT NOT NULL CHECK (action IN ('returned', 'resubmitted', 'closed')),
  text TEXT NOT NULL DEFAULT '',          -- the chief's reason (returned), the inspector's or chief's note
  by_user INTEGER NOT NULL REFERENCES users(id),
  at TEXT NOT NULL,                       -- UTC ISO
  event_version INTEGER NOT NULL          -- the entry's version when the step was taken
);
CREATE INDEX return_steps_return ON return_steps(return_id, id);

-- Notices as their own documents (issue 14): a notice (限期整改, 局部停工整改, 停工整改, 复工) is an event of kind
-- `notice`, each step of its follow-through (served, refused, replied, reviewed, closed) an event of kind
-- `notice_step`: client ids, the offline queue, photos, history and voids are the events' own.
--
-- notice_docs is what the lists read: one row per notice with its station number and the state its steps
-- give (fieldlog.notices.refresh keeps it, in the write that stores the notice or the step). The number is
-- assigned once, in that write (max seq of the year + 1), and stays with the notice when it is voided, so a
-- number is never given twice. Patrol-carried notices (notice_no on a patrol, migration 014) stay where they are.

CREATE TABLE notice_docs (
  event_id TEXT PRIMARY KEY REFERENCES events(id),
  notice_type TEXT NOT NULL CHECK (notice_type IN ('rectify', 'partial_stop', 'stop_work', 'resume')),
  year INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  number TEXT NOT NULL UNIQUE,
  site_id INTEGER REFERENCES sites(id),
  day TEXT NOT NULL,                 -- station-local day the notice was issued
  deadline TEXT,                     -- 整改期限, YYYY-MM-DD (none for a 复工 note)
  state TEXT NOT NULL,               -- issued, replied, review_passed, review_failed, closed, reissued, escalated
  state_on TEXT NOT NULL,            -- day of the step that gave the state
  open INTEGER NOT NULL,             -- 1 while the notice awaits its site or its inspectors (not closed, followed or voided)
  receipt TEXT NOT NULL DEFAULT 'none' CHECK (receipt IN ('none', 'served', 'refused')),
  closed_on TEXT,                    -- day of 销号
  resumed_on TEXT,                   -- a stop's 复工 date (the day of the 复工 note that lifts it)
  follows TEXT REFERENCES events(id),-- the notice this one re-issues, escalates or lifts
  items INTEGER NOT NULL DEFAULT 0,
  major INTEGER NOT NULL DEFAULT 0,  -- items judged 重大事故隐患
  voided INTEGER NOT NULL DEFAULT 0,
  UNIQUE (year, seq)
) WITHOUT ROWID;
CREATE INDEX notice_docs_open ON notice_docs(open, deadline);
CREATE INDEX notice_docs_state ON notice_docs(state, deadline);
CREATE INDEX notice_docs_day ON notice_docs(day);
CREATE INDEX notice_docs_site ON notice_docs(site_id, day);
CREATE INDEX notice_docs_follows ON notice_docs(follows);

-- The steps of one notice, and the notices that follow one: index searches for the refresh and the page.
CREATE INDEX events_notice_step_of ON events(json_extract(data, '$.notice_event_id'))
  WHERE kind = 'notice_step';

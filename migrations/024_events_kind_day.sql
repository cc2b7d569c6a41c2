-- The events of one kind newest first, by day and time: the drill-down of an indicator row lists the newest 200
-- events it counted. It walked events_day (014) from the newest day and sorted each day's events by time, so
-- a day with many events of every kind (today, under a submission load) was read and sorted whole before the
-- first row was shown. With the kind first, one kind's events of a day are read in order and the walk stops at
-- the page.
CREATE INDEX events_kind_day ON events(kind, day, occurred_at);

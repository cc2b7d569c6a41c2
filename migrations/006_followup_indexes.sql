-- Follow-ups (整改通知书, 停工整改) are a few rows among a year of patrols: a partial index on the JSON
-- field that identifies them lets the chief's follow-up list read only those rows instead of every event.
-- (Reviews need none: the kind indexes already narrow them to the few rectification_review rows.)

CREATE INDEX events_notice_no ON events(json_extract(data, '$.notice_no'))
  WHERE json_extract(data, '$.notice_no') IS NOT NULL;

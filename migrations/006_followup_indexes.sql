-- Follow-ups (整改通知书, 停工整改) are a few rows among a year of patrols: partial indexes on the JSON
-- fields that identify them let the chief's follow-up list read only those rows instead of every event.

CREATE INDEX events_notice_no ON events(json_extract(data, '$.notice_no'))
  WHERE json_extract(data, '$.notice_no') IS NOT NULL;

CREATE INDEX events_review_notice ON events(json_extract(data, '$.notice_event_id'))
  WHERE kind = 'rectification_review';

-- The units a notice is addressed to, as the registry named them on the day it was issued: 施工单位 (served on),
-- 建设单位 and 监理单位 (copied). A notice served is what it said, even after the site's record is corrected.
ALTER TABLE notice_docs ADD COLUMN contractor TEXT NOT NULL DEFAULT '';
ALTER TABLE notice_docs ADD COLUMN builder TEXT NOT NULL DEFAULT '';
ALTER TABLE notice_docs ADD COLUMN supervisor TEXT NOT NULL DEFAULT '';
UPDATE notice_docs SET contractor = coalesce((SELECT contractor FROM sites WHERE sites.id = notice_docs.site_id), ''),
                       builder = coalesce((SELECT builder FROM sites WHERE sites.id = notice_docs.site_id), ''),
                       supervisor = coalesce((SELECT supervisor FROM sites WHERE sites.id = notice_docs.site_id), '');

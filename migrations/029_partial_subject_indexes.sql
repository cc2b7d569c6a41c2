-- The plant and campaign indexes of events hold only the events that have a plant or a campaign.
--
-- Most events are on a site, with no plant and no campaign, yet each of them added an entry (a NULL key) to
-- three indexes: one page more per index in every commit's WAL, three of the about twenty pages a site
-- submission wrote (issue 10, item 3). Every query that reads these indexes names the plant or the campaign
-- (plant_id = ?, campaign_id = c.id), which implies IS NOT NULL, so SQLite still uses them; a query on kind and
-- month alone reads events_kind_month_site, which has the same first columns (checked with EXPLAIN QUERY PLAN
-- on every SELECT the test suite runs, before and after).

DROP INDEX events_campaign;
CREATE INDEX events_campaign_set ON events(campaign_id) WHERE campaign_id IS NOT NULL;

DROP INDEX events_plant_occurred;
CREATE INDEX events_plant_set_occurred ON events(plant_id, occurred_at) WHERE plant_id IS NOT NULL;

DROP INDEX events_kind_month_plant;
CREATE INDEX events_kind_month_plant_set ON events(kind, month, plant_id, voided) WHERE plant_id IS NOT NULL;

-- No change to the tables: order.created events store no data from this version on (their
-- data is made from the order when read, events::render_on_read). A jishi from before would
-- read that empty data as JSON and send broken envelopes; this version makes it refuse the
-- database instead (migrate refuses a schema newer than it knows).
SELECT 1;

-- order.created is no longer stored in ev_events: the order row is the event (its id the
-- order's, its organisation the seller), and the pull API and webhooks read it from
-- ord_orders (events::imply_events, flows::register_on_read). from_id is the cutover, above
-- every id stored so far: orders before it keep their stored event (whose id is above the
-- order's, so the cutover is above both), and no event of the type is stored from it on.
CREATE TABLE ev_implied (
  type TEXT PRIMARY KEY,
  from_id BIGINT NOT NULL
);
INSERT INTO ev_implied (type, from_id)
  SELECT 'order.created', COALESCE(MAX(m), 0) + 1
  FROM (SELECT MAX(id) AS m FROM ord_orders UNION ALL SELECT MAX(id) AS m FROM ev_events) stored;

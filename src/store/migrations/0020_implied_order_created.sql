-- order.created is no longer stored in ev_events: the order row is the event (its id the
-- order's, its organisation the seller), and the pull API and webhooks read it from
-- ord_orders (events::imply_events, flows::register_on_read). Orders before the cutover keep
-- their stored event; from_id is the first order id that has none.
CREATE TABLE ev_implied (
  type TEXT PRIMARY KEY,
  from_id BIGINT NOT NULL
);
INSERT INTO ev_implied (type, from_id) SELECT 'order.created', COALESCE(MAX(id), 0) + 1 FROM ord_orders;

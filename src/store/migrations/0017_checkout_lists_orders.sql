-- A checkout's row lists its orders (their ids, comma-separated), so the orders table needs no
-- index by checkout: one B-tree fewer per order written at checkout (docs/performance.md).
-- Checkouts from before get the list from their orders; then the index goes.
ALTER TABLE ord_checkouts ADD COLUMN order_ids TEXT NOT NULL DEFAULT '';
UPDATE ord_checkouts SET order_ids = COALESCE((SELECT group_concat(CAST(o.id AS TEXT), ',')
  FROM ord_orders o WHERE o.checkout_id = ord_checkouts.id), '');
DROP INDEX ord_orders_checkout;

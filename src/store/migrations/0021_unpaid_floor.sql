-- Two index entries fewer per checkout (docs/performance.md, session 16).
--
-- Unpaid orders are found from a floor instead of an index: no order with an id below
-- below_id is pending_payment. Order ids are issued by the one writer in commit order and
-- an order leaves pending_payment for good, so the close_unpaid sweep walks orders by id from
-- the floor, closes the ones past their deadline and raises the floor to the first order
-- still unpaid (flows: close_unpaid_sweep).
DROP INDEX IF EXISTS ord_orders_unpaid;
CREATE TABLE ord_unpaid_floor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  below_id BIGINT NOT NULL
);
INSERT INTO ord_unpaid_floor (id, below_id)
  SELECT 1, COALESCE((SELECT MIN(id) FROM ord_orders WHERE status = 'pending_payment'),
                     (SELECT MAX(id) + 1 FROM ord_orders), 0);

-- An intent whose splits are implied belongs to their source, which closes it when it lapses
-- (a checkout's: with its orders, by the close_unpaid sweep); the pay worker's expiry index
-- leaves such intents out. Intents under way with a channel have an index of their own.
DROP INDEX IF EXISTS pay_intents_open;
CREATE INDEX pay_intents_open ON pay_intents (expires_at_us)
  WHERE status IN ('requires_payment', 'processing') AND splits_from IS NULL;
CREATE INDEX pay_intents_processing ON pay_intents (updated_at_us) WHERE status = 'processing';

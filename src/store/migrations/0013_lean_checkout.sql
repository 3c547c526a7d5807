-- A checkout writes fewer index entries (docs/performance.md).
--
-- Reservations are looked up by order, never by SKU on a request path. The (sku_id, status)
-- index put a random page of its B-tree into every checkout's write-ahead log; stock
-- verification now sums the active reservations in one grouped pass instead.
DROP INDEX IF EXISTS inv_reservations_sku;

-- Orders are paid, and intents get a channel's trade number, after checkout: index only the
-- rows that have them, so a new order or intent adds no entry (the queries that use these
-- indexes ask for paid_at_us ranges and trade_no IS NOT NULL).
DROP INDEX IF EXISTS ord_orders_paid_at;
CREATE INDEX ord_orders_paid_at ON ord_orders (paid_at_us) WHERE paid_at_us IS NOT NULL;
DROP INDEX IF EXISTS pay_intents_trade;
CREATE INDEX pay_intents_trade ON pay_intents (channel, trade_no) WHERE trade_no IS NOT NULL;

-- The postal code given with the shipping address is kept with the order (checkout's reply
-- showed it, but reading the order back lost it).
ALTER TABLE ord_orders ADD COLUMN postal_code TEXT;

-- Unpaid orders are found by their deadline (flows: the close_unpaid sweep) instead of each
-- checkout writing a job row; only unpaid orders are in the index.
CREATE INDEX ord_orders_unpaid ON ord_orders (pay_deadline_us) WHERE status = 'pending_payment';

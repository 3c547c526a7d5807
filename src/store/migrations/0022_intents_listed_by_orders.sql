-- A checkout's first intent is listed through the buyer's orders instead of the payer index
-- (docs/performance.md, session 16): it takes its checkout's id, so the buyer's orders
-- (ord_orders_buyer) name it, and it costs no entry in pay_intents_payer. listed_by names the
-- source that lists an intent (pay::ImpliedSplits::intents_of_payer); NULL: the payer index.
ALTER TABLE pay_intents ADD COLUMN listed_by TEXT;
DROP INDEX IF EXISTS pay_intents_payer;
CREATE INDEX pay_intents_payer ON pay_intents (payer_id, id) WHERE listed_by IS NULL;

-- Checkouts from from_id on have their first intent under their own id; older ones' intents
-- (listed_by NULL) stay in the payer index. New ids are issued above it (app::open_runtime).
CREATE TABLE ord_listed_intents (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  from_id BIGINT NOT NULL
);
INSERT INTO ord_listed_intents (id, from_id)
  SELECT 1, COALESCE(MAX(m), 0) + 1
  FROM (SELECT MAX(id) AS m FROM ord_orders UNION ALL SELECT MAX(id) AS m FROM ord_checkouts
        UNION ALL SELECT MAX(id) AS m FROM pay_intents) stored;

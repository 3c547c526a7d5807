-- A checkout's id is made from its buyer and token (order::checkout_slot: SipHash-2-4 of both,
-- the next free id on a collision), so its row is found by its key and the token needs no
-- index of its own: one B-tree fewer per checkout (docs/performance.md, session 16). Rows from
-- before keep their ids (orders and intents refer to them) and their (buyer, token) index,
-- now only for them (keyed = 0): a replay of an older token still finds its checkout.
CREATE TABLE ord_checkouts_keyed (
  id BIGINT PRIMARY KEY,
  buyer_id BIGINT NOT NULL,
  token TEXT NOT NULL,
  intent_id BIGINT NOT NULL,
  total BIGINT NOT NULL,
  currency TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  order_ids TEXT NOT NULL DEFAULT '',
  keyed INTEGER NOT NULL DEFAULT 0
);
INSERT INTO ord_checkouts_keyed (id, buyer_id, token, intent_id, total, currency,
                                 created_at_us, order_ids, keyed)
  SELECT id, buyer_id, token, intent_id, total, currency, created_at_us, order_ids, 0
  FROM ord_checkouts;
DROP TABLE ord_checkouts;
ALTER TABLE ord_checkouts_keyed RENAME TO ord_checkouts;
CREATE UNIQUE INDEX ord_checkouts_token ON ord_checkouts (buyer_id, token) WHERE keyed = 0;

-- Rows that belong to a parent and are always read through it are stored in their key's order
-- (docs/performance.md). In SQLite a table with a composite primary key is otherwise a rowid
-- table plus a second B-tree for the key, so every insert wrote two B-trees; WITHOUT ROWID keeps
-- one. (PostgreSQL has no such clause; the migration runner drops it there.)

CREATE TABLE ord_lines_clustered (
  order_id BIGINT NOT NULL,
  line_no INTEGER NOT NULL,
  sku_id BIGINT NOT NULL,
  product_id BIGINT NOT NULL,
  title TEXT NOT NULL,
  spec_text TEXT NOT NULL,
  category TEXT NOT NULL,
  unit_price BIGINT NOT NULL,
  quantity BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;
INSERT INTO ord_lines_clustered (order_id, line_no, sku_id, product_id, title, spec_text,
                                 category, unit_price, quantity, amount)
  SELECT order_id, line_no, sku_id, product_id, title, spec_text, category, unit_price,
         quantity, amount FROM ord_lines;
DROP TABLE ord_lines;
ALTER TABLE ord_lines_clustered RENAME TO ord_lines;

CREATE TABLE pay_intent_splits_clustered (
  intent_id BIGINT NOT NULL,
  reference TEXT NOT NULL,
  payee_org_id BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  category TEXT,                     -- for the commission rate
  PRIMARY KEY (intent_id, reference)
) WITHOUT ROWID;
INSERT INTO pay_intent_splits_clustered (intent_id, reference, payee_org_id, amount, category)
  SELECT intent_id, reference, payee_org_id, amount, category FROM pay_intent_splits;
DROP TABLE pay_intent_splits;
ALTER TABLE pay_intent_splits_clustered RENAME TO pay_intent_splits;
CREATE INDEX pay_intent_splits_reference ON pay_intent_splits (reference);

-- A reservation is one order's hold on one SKU; it is found by its order, so it is keyed by
-- (order, SKU). Its separate id was never shown or looked up by, and is gone.
CREATE TABLE inv_reservations_clustered (
  order_id BIGINT NOT NULL,
  sku_id BIGINT NOT NULL,
  quantity BIGINT NOT NULL CHECK (quantity > 0),
  status TEXT NOT NULL,              -- active | converted | released | restocked
  expires_at_us BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (order_id, sku_id)
) WITHOUT ROWID;
INSERT INTO inv_reservations_clustered (order_id, sku_id, quantity, status, expires_at_us,
                                        created_at_us, updated_at_us)
  SELECT order_id, sku_id, quantity, status, expires_at_us, created_at_us, updated_at_us
  FROM inv_reservations;
DROP TABLE inv_reservations;
ALTER TABLE inv_reservations_clustered RENAME TO inv_reservations;

-- Nothing looks intents up by their reference, and a checkout's intent is found from the
-- intent's reference ("checkout-<id>"), not by an index over the checkouts' intents: two index
-- entries fewer per checkout.
DROP INDEX IF EXISTS pay_intents_reference;
DROP INDEX IF EXISTS ord_checkouts_intent;

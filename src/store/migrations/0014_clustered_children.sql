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

-- Nothing looks intents up by their reference, and a checkout's intent is found from the
-- intent's reference ("checkout-<id>"), not by an index over the checkouts' intents: two index
-- entries fewer per checkout.
DROP INDEX IF EXISTS pay_intents_reference;
DROP INDEX IF EXISTS ord_checkouts_intent;

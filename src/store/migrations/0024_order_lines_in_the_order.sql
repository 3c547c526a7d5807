-- An order's lines are part of its row (docs/performance.md, session 17): ord_orders.lines is a
-- JSON array with one array per line,
--   [line_no, sku_id, product_id, title, spec_text, category, unit_price, quantity, amount],
-- in line order. Lines never change after the checkout and are always read with their order,
-- so a checkout writes one B-tree entry per order instead of one more per line. SQL reads them
-- with json_each (flows::unpaid_holds_sql; the regulator's ad hoc queries).
ALTER TABLE ord_orders ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';
UPDATE ord_orders SET lines = (
  SELECT COALESCE(json_group_array(json(x)), '[]') FROM (
    SELECT json_array(line_no, sku_id, product_id, title, spec_text, category, unit_price,
                      quantity, amount) AS x
    FROM ord_lines WHERE order_id = ord_orders.id ORDER BY line_no));
DROP TABLE ord_lines;

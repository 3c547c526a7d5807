-- An order's shipping address (recipient, phone, detail) is sealed as one value, under the
-- field name "order.ship_to": one encryption and one MAC per order instead of three
-- (docs/performance.md). Orders from before keep their three sealed columns; new orders leave
-- them empty ('') and fill ship_to_enc.
ALTER TABLE ord_orders ADD COLUMN ship_to_enc TEXT;

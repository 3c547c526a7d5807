-- Reserved units are held by the lines of unpaid orders (docs/trading.md, section 6): a
-- checkout writes no reservation row. Until now every active reservation was an unpaid
-- order's line, summed per SKU, and every other reservation was history that nothing reads;
-- `jishi verify stock` now checks reserved == the units on unpaid orders' lines.
DROP TABLE IF EXISTS inv_reservations;

-- Reservations are looked up by order, never by SKU on a request path. The (sku_id, status)
-- index put a random page of its B-tree into every checkout's write-ahead log; stock
-- verification now sums the active reservations in one grouped pass instead.
DROP INDEX IF EXISTS inv_reservations_sku;

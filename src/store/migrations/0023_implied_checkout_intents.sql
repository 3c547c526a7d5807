-- A checkout's first intent is implied by the checkout and its orders until its first change
-- (docs/performance.md, session 17): checkout() stores no pay_intents row for it, and the first
-- change (a payment, a failure, a cancellation) stores the row in its new state. Checkouts from
-- implied_from on have such intents; older ones' intents are stored rows. New ids are issued
-- above it (app::open_runtime).
ALTER TABLE ord_listed_intents ADD COLUMN implied_from BIGINT NOT NULL DEFAULT 0;
UPDATE ord_listed_intents SET implied_from = (
  SELECT COALESCE(MAX(m), 0) + 1
  FROM (SELECT MAX(id) AS m FROM ord_orders UNION ALL SELECT MAX(id) AS m FROM ord_checkouts
        UNION ALL SELECT MAX(id) AS m FROM pay_intents UNION ALL SELECT from_id AS m
        FROM ord_listed_intents) stored)
WHERE id = 1;

-- Found by the checkout benchmark: creating an intent looks up each split's reference for an
-- open intent, and a paid intent finds its checkout; both scanned whole tables.
CREATE INDEX pay_intent_splits_reference ON pay_intent_splits (reference);
CREATE INDEX ord_checkouts_intent ON ord_checkouts (intent_id);

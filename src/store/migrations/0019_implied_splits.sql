-- A checkout's payment intent stores no split rows: its splits are its orders (reference, seller,
-- total, first line's category), made from them when the intent is read (pay::imply_splits).
-- NULL: the splits are the intent's pay_intent_splits rows, as before.
ALTER TABLE pay_intents ADD COLUMN splits_from TEXT;

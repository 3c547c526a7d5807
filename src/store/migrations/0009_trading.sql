-- Trading: stock per SKU with reservations and an append-only movement journal (inventory/),
-- addresses, carts, checkouts, orders with their lines, event log, refunds and ratings (order/).

-- Stock of one SKU. available = on_hand - reserved; both only move with a journal row.
CREATE TABLE inv_stock (
  sku_id BIGINT PRIMARY KEY,
  seller_id BIGINT NOT NULL,
  on_hand BIGINT NOT NULL CHECK (on_hand >= 0),
  reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
  updated_at_us BIGINT NOT NULL
);

-- Units held for an order line: active until the order is paid (converted: the units leave
-- on_hand) or closed (released: back to available).
CREATE TABLE inv_reservations (
  id BIGINT PRIMARY KEY,
  sku_id BIGINT NOT NULL,
  order_id BIGINT NOT NULL,
  quantity BIGINT NOT NULL CHECK (quantity > 0),
  status TEXT NOT NULL,              -- active | converted | released | restocked
  expires_at_us BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  UNIQUE (order_id, sku_id)
);
CREATE INDEX inv_reservations_sku ON inv_reservations (sku_id, status);

-- Append-only: per SKU, sum(delta_on_hand) == on_hand and sum(delta_reserved) == reserved.
CREATE TABLE inv_movements (
  id BIGINT PRIMARY KEY,
  sku_id BIGINT NOT NULL,
  kind TEXT NOT NULL,                -- adjust | reserve | release | convert | restock
  delta_on_hand BIGINT NOT NULL,
  delta_reserved BIGINT NOT NULL,
  reference TEXT,                    -- the order id, or the adjustment's note
  actor_id BIGINT,
  at_us BIGINT NOT NULL
);
CREATE INDEX inv_movements_sku ON inv_movements (sku_id, id);

CREATE TABLE ord_addresses (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  recipient_enc TEXT NOT NULL,
  phone_enc TEXT NOT NULL,
  region_code TEXT NOT NULL,         -- GB/T 2260 county-level code
  detail_enc TEXT NOT NULL,
  postal_code TEXT,
  is_default INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX ord_addresses_user ON ord_addresses (user_id, id);

CREATE TABLE ord_cart_items (
  buyer_id BIGINT NOT NULL,
  sku_id BIGINT NOT NULL,
  quantity BIGINT NOT NULL CHECK (quantity > 0),
  price_seen BIGINT NOT NULL,        -- the unit price the buyer saw when carting
  currency TEXT NOT NULL,
  added_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (buyer_id, sku_id)
);

-- One submitted checkout: idempotent by (buyer, token); its orders share one payment intent.
CREATE TABLE ord_checkouts (
  id BIGINT PRIMARY KEY,
  buyer_id BIGINT NOT NULL,
  token TEXT NOT NULL,
  intent_id BIGINT NOT NULL,
  total BIGINT NOT NULL,
  currency TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  UNIQUE (buyer_id, token)
);

CREATE TABLE ord_orders (
  id BIGINT PRIMARY KEY,             -- the order number (Snowflake id)
  checkout_id BIGINT NOT NULL,
  buyer_id BIGINT NOT NULL,
  seller_id BIGINT NOT NULL,
  status TEXT NOT NULL,              -- pending_payment | paid | shipped | delivered | completed | cancelled | closed
  payment_status TEXT NOT NULL,      -- unpaid | paid | partially_refunded | refunded
  fulfillment_status TEXT NOT NULL,  -- unfulfilled | shipped | delivered | returned
  currency TEXT NOT NULL,
  items_total BIGINT NOT NULL,
  freight BIGINT NOT NULL,
  total BIGINT NOT NULL,
  refunded BIGINT NOT NULL DEFAULT 0,
  intent_id BIGINT NOT NULL,
  recipient_enc TEXT NOT NULL,
  phone_enc TEXT NOT NULL,
  region_code TEXT NOT NULL,
  detail_enc TEXT NOT NULL,
  buyer_note TEXT,
  carrier TEXT,
  tracking_no TEXT,
  pay_deadline_us BIGINT NOT NULL,
  paid_at_us BIGINT,
  shipped_at_us BIGINT,
  delivered_at_us BIGINT,
  auto_confirm_at_us BIGINT,
  confirm_extended INTEGER NOT NULL DEFAULT 0,
  completed_at_us BIGINT,
  cancelled_at_us BIGINT,
  cancel_reason TEXT,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX ord_orders_buyer ON ord_orders (buyer_id, id);
CREATE INDEX ord_orders_seller ON ord_orders (seller_id, id);
CREATE INDEX ord_orders_checkout ON ord_orders (checkout_id);

CREATE TABLE ord_lines (
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
);

-- Append-only history of every order's state changes.
CREATE TABLE ord_events (
  id BIGINT PRIMARY KEY,
  order_id BIGINT NOT NULL,
  type TEXT NOT NULL,
  actor_id BIGINT,
  detail TEXT,
  at_us BIGINT NOT NULL
);
CREATE INDEX ord_events_order ON ord_events (order_id, id);

-- After-sales: refund only (before shipment, or the goods never came) or return and refund.
CREATE TABLE ord_refunds (
  id BIGINT PRIMARY KEY,
  order_id BIGINT NOT NULL,
  kind TEXT NOT NULL,                -- refund | return
  status TEXT NOT NULL,              -- requested | approved | returning | refunded | rejected | cancelled
  amount BIGINT NOT NULL,
  reason TEXT NOT NULL,
  reject_reason TEXT,
  return_carrier TEXT,
  return_tracking_no TEXT,
  pay_refund_id BIGINT,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX ord_refunds_order ON ord_refunds (order_id, id);

CREATE TABLE ord_ratings (
  order_id BIGINT PRIMARY KEY,
  buyer_id BIGINT NOT NULL,
  seller_id BIGINT NOT NULL,
  described INTEGER NOT NULL,
  service INTEGER NOT NULL,
  shipping INTEGER NOT NULL,
  text TEXT NOT NULL,
  editable_until_us BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX ord_ratings_seller ON ord_ratings (seller_id, order_id);

-- Sums over a seller's ratings (kept in the rating's transaction).
CREATE TABLE ord_seller_ratings (
  seller_id BIGINT PRIMARY KEY,
  count BIGINT NOT NULL,
  described_sum BIGINT NOT NULL,
  service_sum BIGINT NOT NULL,
  shipping_sum BIGINT NOT NULL
);

-- catalog/: the category tree, products with SKUs and images, their moderation history, and
-- the full-text index (FTS5 over pre-segmented terms: CJK unigrams + bigrams, Latin words).

CREATE TABLE cat_categories (
  id BIGINT PRIMARY KEY,
  parent_id BIGINT,
  code TEXT NOT NULL UNIQUE,         -- stable slug: commission rates are keyed by it
  name TEXT NOT NULL,
  name_en TEXT,
  sort INTEGER NOT NULL DEFAULT 0,
  depth INTEGER NOT NULL,            -- 1..3
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);

CREATE TABLE cat_products (
  id BIGINT PRIMARY KEY,
  seller_id BIGINT NOT NULL,
  category_id BIGINT NOT NULL,
  title TEXT NOT NULL,
  subtitle TEXT,
  brand TEXT,
  description TEXT NOT NULL,         -- JSON array of blocks (text | image)
  status TEXT NOT NULL,              -- draft | listed | delisted | taken_down
  takedown_reason TEXT,
  currency TEXT NOT NULL,
  price_min BIGINT NOT NULL,         -- over active SKUs (filters and sorts)
  price_max BIGINT NOT NULL,
  sales BIGINT NOT NULL DEFAULT 0,
  rating_sum BIGINT NOT NULL DEFAULT 0,
  rating_count BIGINT NOT NULL DEFAULT 0,
  in_stock INTEGER NOT NULL DEFAULT 0,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  listed_at_us BIGINT
);
CREATE INDEX cat_products_seller ON cat_products (seller_id, id);
CREATE INDEX cat_products_listed ON cat_products (status, category_id, id);
CREATE INDEX cat_products_price ON cat_products (status, price_min, id);
CREATE INDEX cat_products_sales ON cat_products (status, sales, id);

CREATE TABLE cat_skus (
  id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  spec TEXT NOT NULL,                -- canonical JSON object: {"颜色":"红色","尺码":"L"}
  spec_text TEXT NOT NULL,           -- "颜色:红色 尺码:L"
  price BIGINT NOT NULL,
  currency TEXT NOT NULL,
  code TEXT,                         -- the merchant's own SKU code
  status TEXT NOT NULL,              -- active | disabled
  in_stock INTEGER NOT NULL DEFAULT 0,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  UNIQUE (product_id, spec)
);

CREATE TABLE cat_images (
  id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  position INTEGER NOT NULL,
  created_at_us BIGINT NOT NULL
);
CREATE INDEX cat_images_product ON cat_images (product_id, position);

-- Append-only: who listed, delisted, took down or restored a product, when and why.
CREATE TABLE cat_product_events (
  id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT,
  actor_id BIGINT,
  actor_role TEXT,
  at_us BIGINT NOT NULL
);
CREATE INDEX cat_product_events_product ON cat_product_events (product_id, id);
CREATE INDEX cat_product_events_action ON cat_product_events (action, id);

-- rowid = product id; only listed products are in the index.
CREATE VIRTUAL TABLE cat_search USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');

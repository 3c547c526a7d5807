// Every limit in jishi, in one place, each with the reason for its number
// (TigerBeetle's constants.zig is the model). Related limits are tied by static_asserts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jishi::limits {

// --- HTTP ---------------------------------------------------------------------------------
// 1 MiB covers any JSON command the API takes (a checkout with 100 lines is ~10 KiB);
// uploads that need more declare their own per-route limit.
inline constexpr std::size_t request_body_bytes_max = 1 << 20;
// 16 KiB of headers: browsers send ~2 KiB; long cookies or tokens fit with room to spare.
inline constexpr std::size_t request_header_bytes_max = 16 << 10;
// A request that has started must arrive within 30 s, slowloris or not.
inline constexpr std::uint32_t request_read_timeout_ms = 30'000;
// An idle keep-alive connection is closed after 60 s (nginx's default is 75 s).
inline constexpr std::uint32_t idle_timeout_ms = 60'000;
// On SIGTERM in-flight requests get this long to finish before connections are closed.
inline constexpr std::uint32_t shutdown_grace_ms = 10'000;
// After answering and shutting down our side, how long and how much of a client's unread
// upload we drain so that it can read the answer (a 413) instead of a connection reset.
inline constexpr std::uint32_t lingering_close_ms = 2'000;
inline constexpr std::size_t lingering_close_bytes_max = 4 << 20;
// Connections held open at once; beyond this new ones are accepted and closed at once.
inline constexpr std::size_t connections_max = 10'000;
// A request path with query string; nothing in the API needs more.
inline constexpr std::size_t request_target_bytes_max = 2048;

// --- JSON ---------------------------------------------------------------------------------
// No API document nests deeper than ~6; 32 leaves room and stops stack-exhaustion bombs.
inline constexpr std::size_t json_depth_max = 32;
// Any single string in a request: descriptions are the longest text we take.
inline constexpr std::size_t json_string_bytes_max = 64 << 10;
// Arrays and objects in requests: a checkout with this many lines is already absurd.
inline constexpr std::size_t json_container_items_max = 1000;
static_assert(json_string_bytes_max < request_body_bytes_max);

// --- Paging -------------------------------------------------------------------------------
inline constexpr std::size_t page_size_default = 20;
inline constexpr std::size_t page_size_max = 100;
static_assert(page_size_default <= page_size_max);

// --- Writer (batched single writer) -------------------------------------------------------
// Commands per transaction: enough to amortise one fsync over many commands, small enough that
// one batch commits in a few milliseconds.
inline constexpr std::size_t writer_batch_commands_max = 1000;
// Queued commands beyond which submitters get 503 + Retry-After instead of waiting: about
// eight full batches, i.e. tens of milliseconds of work at full speed.
inline constexpr std::size_t writer_queue_commands_max = 8192;
static_assert(writer_batch_commands_max <= writer_queue_commands_max);
// Seconds a client is told to wait when the writer queue is full.
inline constexpr std::uint32_t overloaded_retry_after_s = 1;

// --- Store --------------------------------------------------------------------------------
// Read connections in the pool: one per I/O thread plus slack for CLI and background reads.
inline constexpr std::size_t read_connections_default = 4;
inline constexpr std::size_t read_connections_max = 64;
// Prepared statements cached per connection; the whole schema's queries fit.
inline constexpr std::size_t statement_cache_max = 256;
// SKU offers the writer keeps in memory for checkouts (catalog::prepare_offer_cache): a few
// hundred bytes each, so at most ~60 MB; when full the cache starts again.
inline constexpr std::size_t offer_cache_entries_max = 200'000;
// Stock rows' availability the writer keeps in memory (inventory::ReservationDeferral): ~50
// bytes each, so at most ~25 MB; its start loads up to three quarters of it, and when full it
// starts again.
inline constexpr std::size_t stock_cache_entries_max = 500'000;
// The writer's filter of checkout tokens (order::prepare_checkout_filter): 10 bits per token,
// so 64 MiB hold ~54 million tokens at a ~1% false-positive rate.
inline constexpr std::size_t checkout_filter_bytes_max = 64u << 20;
// Organisations (kind and status of a payee) and sellers' webhook lists the writer keeps in
// memory (pay::prepare_payee_cache, events::prepare_webhook_cache); when full, each starts
// again.
inline constexpr std::size_t payee_cache_entries_max = 100'000;
inline constexpr std::size_t webhook_cache_orgs_max = 100'000;
// How long a connection waits on SQLite's lock before reporting busy.
inline constexpr std::uint32_t sqlite_busy_timeout_ms = 5'000;

// --- Identity -----------------------------------------------------------------------------
inline constexpr std::size_t password_bytes_min = 8;
// Argon2id's input is unbounded; 1 KiB stops hashing-cost attacks with huge passwords.
inline constexpr std::size_t password_bytes_max = 1024;
inline constexpr std::size_t email_bytes_max = 254;  // RFC 5321 path limit
inline constexpr std::size_t display_name_bytes_max = 100;
inline constexpr std::size_t org_name_bytes_max = 200;
inline constexpr std::size_t reason_bytes_max = 1000;
inline constexpr std::size_t api_key_name_bytes_max = 100;
inline constexpr std::size_t api_keys_per_org_max = 50;
// Organisations one person may belong to: every authenticated request loads them, and no
// real user runs more than a handful of shops or buying departments.
inline constexpr std::size_t memberships_per_user_max = 100;
// Failed logins in a row before the account locks, and for how long.
inline constexpr std::uint32_t login_failures_max = 5;
inline constexpr std::int64_t login_lockout_us = 15LL * 60 * 1'000'000;
// Session lifetime; a session is a bearer token, so it must expire.
inline constexpr std::int64_t session_ttl_us_default = 7LL * 24 * 3600 * 1'000'000;

// Principals cached per process (api/auth_cache.h); beyond this the cache starts over.
inline constexpr std::size_t auth_cache_entries_max = 100'000;

// --- Idempotency --------------------------------------------------------------------------
inline constexpr std::size_t idempotency_key_bytes_max = 255;  // Stripe's limit
// Stored responses are kept one day: long enough for any client retry loop.
inline constexpr std::int64_t idempotency_ttl_us = 24LL * 3600 * 1'000'000;

// --- Payments (pay/) ----------------------------------------------------------------------
inline constexpr std::size_t pay_reference_bytes_max = 64;
inline constexpr std::size_t pay_description_bytes_max = 200;
inline constexpr std::size_t pay_splits_max = 50;  // payees per intent (merchants per checkout)
// One payment or payout: 1e12 minor units (10 billion yuan); sums of splits stay far from int64.
inline constexpr std::int64_t pay_amount_max = 1'000'000'000'000;
inline constexpr std::int64_t pay_commission_ppm_max = 1'000'000;  // 100%
inline constexpr std::size_t pay_account_no_bytes_max = 34;        // IBAN length
inline constexpr std::size_t pay_bank_name_bytes_max = 100;
inline constexpr std::size_t pay_notify_form_fields_max = 50;
// Background channel work per pass (expiry, refunds to submit, stale intents to query).
inline constexpr std::size_t pay_worker_batch_max = 100;
inline constexpr std::size_t recon_statement_lines_max = 1'000'000;

// --- Rate limits --------------------------------------------------------------------------
// Per client (token or IP): sustained requests per second and burst size.
inline constexpr double rate_limit_per_s_default = 50.0;
inline constexpr double rate_limit_burst_default = 100.0;
// Buckets tracked at once; the oldest idle ones are dropped first beyond this.
inline constexpr std::size_t rate_limit_clients_max = 100'000;

// --- CPU pool (password hashing) ----------------------------------------------------------
// Queued password hashes; each takes tens of ms, so a deep queue only adds latency.
inline constexpr std::size_t cpu_queue_jobs_max = 256;

// --- Risk control (pay/risk.h) ------------------------------------------------------------
// Rules are all loaded and checked on every payment, so their number stays small; a real
// rule book has tens.
inline constexpr std::size_t risk_rules_max = 200;
// Block/allow list entries: looked up by index, so the bound is about the table, not speed.
inline constexpr std::size_t risk_list_entries_max = 1'000'000;
// The longest velocity window: a day. Events older than this are pruned.
inline constexpr std::int64_t risk_window_s_max = 86'400;
// The largest velocity count a rule may allow in its window; counting stops at count + 1.
inline constexpr std::int64_t risk_count_max = 10'000;
// PAN length per ISO/IEC 7812 (UnionPay cards have 16..19 digits).
inline constexpr std::size_t risk_card_digits_min = 12;
inline constexpr std::size_t risk_card_digits_max = 19;
// Bank account numbers: IBAN's 34 characters cover Chinese accounts (up to ~25 digits).
inline constexpr std::size_t risk_account_bytes_min = 6;
inline constexpr std::size_t risk_account_bytes_max = 34;
// Device fingerprints from SDKs are hashes or UUIDs; 128 bytes leaves room.
inline constexpr std::size_t risk_device_id_bytes_max = 128;
// The longest textual IPv6 address (INET6_ADDRSTRLEN - 1).
inline constexpr std::size_t risk_ip_bytes_max = 45;
inline constexpr std::size_t risk_description_bytes_max = 200;
// Velocity events deleted per housekeeping run: about an hour of events at 10 payments/s with
// three keys each, and still one short DELETE for the writer.
inline constexpr std::size_t risk_prune_batch_max = 100'000;
static_assert(risk_card_digits_min <= risk_card_digits_max);
static_assert(risk_account_bytes_min <= risk_account_bytes_max);
// --- Outgoing HTTP (http/client.h) and payment gateways -----------------------------------
// A gateway call or a notification delivery that takes longer than 10 s has failed for the
// caller (Alipay's own SDK defaults to 15 s for reads, 3 s for connecting).
inline constexpr std::uint32_t http_client_timeout_ms = 10'000;
// A response body: a day's statement of ~100k lines at ~120 bytes each is the largest answer.
inline constexpr std::size_t http_client_body_bytes_max = 16 << 20;
// Gateway protocol fields: ids (out_trade_no, out_refund_no) as gateways bound them (64 chars at
// Alipay), subjects (256 bytes), the biz_content JSON document of one request.
inline constexpr std::size_t gateway_id_bytes_max = 64;
inline constexpr std::size_t gateway_subject_bytes_max = 256;
inline constexpr std::size_t gateway_biz_content_bytes_max = 16 << 10;
// Notification deliveries per notification before the simulator gives up (Alipay sends 8 over
// ~25 h); each retry waits twice as long as the one before.
inline constexpr int gateway_notify_attempts_max = 8;
// An unpaid simulator trade closes after this long (Alipay's timeout_express default is 15 d;
// cashier sessions are shorter in practice).
inline constexpr std::int64_t gateway_trade_timeout_us = 30LL * 60 * 1'000'000;
static_assert(gateway_biz_content_bytes_max < request_body_bytes_max);

// --- Trading: inventory, carts, checkout, orders, ratings -------------------------------------
// Units of one SKU on hand: ten million is beyond any single warehouse bin we model, and keeps
// quantity * price far inside int64.
inline constexpr std::int64_t stock_units_max = 10'000'000;
// Units of one SKU in one cart line or order line (a bulk B2B order goes through procurement).
inline constexpr std::int64_t order_line_quantity_max = 9'999;
// Lines in a cart, and in one checkout (across merchants).
inline constexpr std::size_t cart_lines_max = 100;
inline constexpr std::size_t checkout_lines_max = 100;
static_assert(checkout_lines_max <= cart_lines_max);
// Merchants in one checkout: one order, one payment split each.
inline constexpr std::size_t checkout_orders_max = 20;
// A checkout token: client-chosen, 16..64 bytes ([A-Za-z0-9_-]); it makes a resubmit harmless.
inline constexpr std::size_t checkout_token_bytes_min = 16;
inline constexpr std::size_t checkout_token_bytes_max = 64;
// Saved addresses per person, and the sizes of their fields.
inline constexpr std::size_t addresses_per_user_max = 20;
inline constexpr std::size_t recipient_bytes_max = 100;
inline constexpr std::size_t address_detail_bytes_max = 300;
inline constexpr std::size_t buyer_note_bytes_max = 500;
// Carrier codes ("SF", "YTO", "ZTO") and tracking numbers.
inline constexpr std::size_t carrier_code_bytes_max = 16;
inline constexpr std::size_t tracking_number_bytes_max = 40;
// A rating's text (about 500 Chinese characters).
inline constexpr std::size_t rating_text_bytes_max = 1500;
// Problems listed by `jishi verify stock` before it stops collecting (the count is still exact).
inline constexpr std::size_t verify_problems_max = 100;

// --- Events: the outbox, webhooks, durable jobs ------------------------------------------------
inline constexpr std::size_t event_type_bytes_max = 64;
// An event's data: an order with 100 lines fits; webhook receivers should not need more.
inline constexpr std::size_t event_data_bytes_max = 16 << 10;
inline constexpr std::size_t webhooks_per_org_max = 10;
inline constexpr std::size_t webhook_url_bytes_max = 2048;
inline constexpr std::size_t webhook_event_types_max = 32;
// A receiver's answer is read only to close the exchange; a longer one fails the attempt, so the
// bound is generous.
inline constexpr std::size_t webhook_response_bytes_max = 64 << 10;
// Deliveries queued per dispatcher pass, and jobs run per runner pass: bounded work per wake-up.
inline constexpr std::size_t webhook_deliveries_per_pass_max = 200;
inline constexpr std::size_t jobs_per_pass_max = 500;
// Orders the unpaid sweep reads per pass (flows::close_unpaid_sweep), from the unpaid floor or
// where the last pass stopped: the orders between the floor and the first unpaid one not yet
// due are read again each round, this many at a time (~25 ms on a read connection).
inline constexpr std::size_t unpaid_walk_max = 50'000;

// --- Catalog -----------------------------------------------------------------------------------
// Sizes are in UTF-8 bytes; a Chinese character takes 3 (a 120-character title is 360 bytes).
inline constexpr std::size_t product_title_bytes_max = 360;
inline constexpr std::size_t product_subtitle_bytes_max = 600;
inline constexpr std::size_t brand_bytes_max = 100;
inline constexpr std::size_t description_blocks_max = 50;
inline constexpr std::size_t description_text_bytes_max = 15'000;
inline constexpr std::size_t skus_per_product_max = 100;
inline constexpr std::size_t spec_attributes_max = 5;
inline constexpr std::size_t spec_part_bytes_max = 60;
inline constexpr std::size_t sku_code_bytes_max = 64;
inline constexpr std::size_t images_per_product_max = 20;
// An uploaded product image: phone photos compress well under this once resized by the client.
inline constexpr std::size_t image_bytes_max = 2 << 20;
inline constexpr std::size_t categories_max = 5000;
inline constexpr int category_depth_max = 3;
inline constexpr std::size_t category_code_bytes_max = 64;
inline constexpr std::size_t category_name_bytes_max = 100;
// A search query: 64 characters.
inline constexpr std::size_t search_query_bytes_max = 192;
// Relevance-sorted results page by offset (FTS5 ranks are not stable keys): at most this deep.
inline constexpr std::size_t search_offset_max = 1000;

}  // namespace jishi::limits

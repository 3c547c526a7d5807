#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "events/events.h"
#include "events/jobs.h"
#include "events/webhooks.h"
#include "store/migrate.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store/test_util.h"

namespace jishi::events {
namespace {

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions o;
    o.sqlite_path = store::testing::fresh_db_path("events");
    path_ = o.sqlite_path;
    // As on the server's writer: the webhooks are kept in memory (every test runs so).
    o.prepare_writer.push_back(prepare_webhook_cache);
    store_ = std::move(store::Store::open(o, nullptr).value());
  }
  template <class F>
  void write(F f) {
    store::testing::write_ok(store_->writer(), f);
  }
  std::int64_t count(std::string_view sql) {
    auto lease = store_->reads().lease();
    return lease->query_one(sql, {}, [](const store::Row& r) { return r.i64(0); })
        .value()
        .value_or(-1);
  }

  ManualClock clock_{1'800'000'000'000'000};
  IdGenerator ids_{clock_, 1};
  FieldCipher cipher_ = FieldCipher::from_keys("k", std::string(32, 'k'), std::string(32, 'l'));
  Env env_{clock_, ids_, cipher_};
  std::unique_ptr<store::Store> store_;
  std::string path_;
};

// The webhooks kept in the writer's memory never miss a change: one made by a command, one
// undone with its command, and one made by another connection.
TEST_F(EventsTest, WebhooksInTheWritersMemoryFollowEveryChange) {
  OrgId org{10};
  auto publish_one = [&] {
    write([&](store::Tx& tx) -> Status {
      JISHI_TRY(publish(tx, env_, NewEvent{"order.paid", org, "1", "{}"}));
      return {};
    });
    return count("SELECT COUNT(*) FROM ev_deliveries");
  };
  EXPECT_EQ(publish_one(), 0);  // none yet, and that is kept
  std::int64_t hook = 0;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto a,
                           create_webhook(tx, env_, org, UserId{1}, {"http://h/a", {"*"}, {}}));
    hook = a.first.id;
    return {};
  });
  EXPECT_EQ(publish_one(), 1);
  // Created, published to and then undone in one command: the next event finds no second hook.
  auto failed = store::run_and_wait(store_->writer(), [&](store::Tx& tx) {
    auto b = create_webhook(tx, env_, org, UserId{1}, {"http://h/b", {"*"}, {}});
    EXPECT_TRUE(b);
    EXPECT_TRUE(publish(tx, env_, NewEvent{"order.paid", org, "2", "{}"}));
    return false;
  });
  EXPECT_NE(failed, store::Outcome::committed);
  EXPECT_EQ(publish_one(), 2);  // one more, to the first hook only
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(update_webhook(tx, env_, org, hook, std::nullopt, false));
    return {};
  });
  EXPECT_EQ(publish_one(), 2);  // disabled
  auto other = std::move(store::open_sqlite(path_, store::OpenMode::read_write).value());
  ASSERT_TRUE(other->exec("UPDATE ev_webhooks SET enabled = 1 WHERE id = $1", {hook}));
  EXPECT_EQ(publish_one(), 3);  // enabled again by another connection
}

// An event published to be rendered on read stores no data; its readers (one event, a page of
// them, the envelope webhooks send) get what the type's renderer makes from it, and a type
// with no renderer fails loudly instead of handing out empty data.
Result<std::string> render_lazy(store::Conn& conn, const Event& e) {
  auto n = conn.query_one("SELECT COUNT(*) FROM ev_events", {},
                          [](const store::Row& r) { return r.i64(0); });
  if (!n) return std::unexpected(n.error());
  return R"({"subject":")" + e.subject + R"(","events":)" + std::to_string(n->value_or(0)) + "}";
}

TEST_F(EventsTest, DataRenderedOnReadIsMadeByTheTypesRendererForEveryReader) {
  OrgId org{10};
  render_on_read("test.lazy", render_lazy);
  EventId lazy, unrendered;
  write([&](store::Tx& tx) -> Status {
    NewEvent e{"test.lazy", org, "s1", ""};
    e.rendered_on_read = true;
    JISHI_ASSIGN_OR_RETURN(lazy, publish(tx, env_, e));
    NewEvent u{"test.unrendered", org, "s2", ""};
    u.rendered_on_read = true;
    JISHI_ASSIGN_OR_RETURN(unrendered, publish(tx, env_, u));
    return {};
  });
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events WHERE data = ''"), 2);  // nothing stored
  auto lease = store_->reads().lease();
  auto one = get_event(*lease, lazy);
  ASSERT_TRUE(one && *one) << (one ? "" : one.error().detail);
  EXPECT_EQ((*one)->data_json, R"({"subject":"s1","events":2})");
  EXPECT_NE(event_envelope(**one).find(R"("data":{"subject":"s1","events":2})"), std::string::npos);
  auto missing = get_event(*lease, unrendered);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::internal);
  auto page = events_after(*lease, org, 0, std::string("test.lazy"), 10);
  ASSERT_TRUE(page) << page.error().detail;
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].data_json, R"({"subject":"s1","events":2})");
  EXPECT_FALSE(events_after(*lease, org, 0, std::nullopt, 10));  // the unrendered one is in it
  // Data given with rendered_on_read is refused (it would be ignored).
  Status refused;
  auto outcome = store::run_and_wait(store_->writer(), [&](store::Tx& tx) {
    NewEvent e{"test.lazy", org, "s3", "{}"};
    e.rendered_on_read = true;
    auto r = publish(tx, env_, e);
    if (!r) refused = std::unexpected(r.error());
    return r.has_value();
  });
  EXPECT_FALSE(refused);
  EXPECT_EQ(outcome, store::Outcome::rolled_back);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events"), 2);
}

// A delivery whose event cannot be read (no renderer for its data) is a failed attempt,
// recorded and given up after the retry window like any other, not skipped in silence at every
// pass of the dispatcher.
TEST_F(EventsTest, ADeliveryWhoseEventCannotBeReadFailsAndIsGivenUp) {
  OrgId org{11};
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(create_webhook(tx, env_, org, UserId{1}, {"http://127.0.0.1:9/h", {"*"}, {}}));
    NewEvent e{"test.never_rendered", org, "s", ""};
    e.rendered_on_read = true;
    JISHI_TRY(publish(tx, env_, e));
    return {};
  });
  DelivererOptions options;
  options.interval_ms = 20;
  options.retry_hours = 0;  // the first failure is past the window: given up at once
  WebhookDeliverer deliverer(*store_, env_, options);
  deliverer.start();
  for (int i = 0; i < 250 && count("SELECT COUNT(*) FROM ev_delivery_attempts") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  deliverer.stop();
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_delivery_attempts WHERE error LIKE "
                  "'the event cannot be read:%'"),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_deliveries WHERE status = 'failed' AND attempts = 1"),
            1);
}

TEST_F(EventsTest, PublishQueuesADeliveryPerSubscribedEnabledWebhookOnly) {
  OrgId org{10}, other{11};
  std::int64_t all = 0, paid_only = 0, shipped_only = 0;
  write([&](store::Tx& tx) -> Status {
    JISHI_ASSIGN_OR_RETURN(auto a,
                           create_webhook(tx, env_, org, UserId{1}, {"http://h/a", {"*"}, {}}));
    JISHI_ASSIGN_OR_RETURN(
        auto b, create_webhook(tx, env_, org, UserId{1}, {"http://h/b", {"order.paid"}, {}}));
    JISHI_ASSIGN_OR_RETURN(
        auto c, create_webhook(tx, env_, org, UserId{1}, {"http://h/c", {"order.shipped"}, {}}));
    JISHI_TRY(create_webhook(tx, env_, other, UserId{1}, {"http://h/d", {"*"}, {}}));
    all = a.first.id;
    paid_only = b.first.id;
    shipped_only = c.first.id;
    EXPECT_TRUE(a.second.starts_with("whsec_"));
    return {};
  });
  write([&](store::Tx& tx) -> Status {
    JISHI_TRY(publish(tx, env_, NewEvent{"order.paid", org, "1", "{\"x\":1}"}));
    return {};
  });
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_deliveries"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_deliveries WHERE webhook_id = " +
                  std::to_string(shipped_only)),
            0);
  (void)all;
  (void)paid_only;
}

TEST_F(EventsTest, AJobRunsOnceWhenDueAndItsWorkCommitsWithIt) {
  JobRunner runner(*store_, env_, JobRunnerOptions{});
  int runs = 0;
  runner.on("test.job", [&](store::Tx& tx, Env&, const Job& j) -> Status {
    ++runs;
    JISHI_TRY(
        tx.exec("INSERT INTO ev_events (id, type, subject, data, created_at_us) VALUES ($1, "
                "'x', $2, '{}', 0)",
                {static_cast<std::int64_t>(runs), j.key}));
    return {};
  });
  write(
      [&](store::Tx& tx) { return schedule(tx, env_, "test.job", "k1", clock_.now_us() + 1000); });
  write(
      [&](store::Tx& tx) { return schedule(tx, env_, "test.job", "k1", clock_.now_us() + 2000); });
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_jobs"), 1);  // scheduling twice keeps one job
  EXPECT_EQ(runner.run_once(), 0);                      // not due yet
  clock_.advance_us(5000);
  EXPECT_EQ(runner.run_once(), 1);
  EXPECT_EQ(runner.run_once(), 0);  // done: a second pass does nothing
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events"), 1);
}

TEST_F(EventsTest, AFailingJobIsRolledBackAndRetriedWithBackoff) {
  JobRunnerOptions o;
  o.attempts_max = 2;
  JobRunner runner(*store_, env_, o);
  int runs = 0;
  runner.on("test.fail", [&](store::Tx& tx, Env&, const Job&) -> Status {
    ++runs;
    JISHI_TRY(
        tx.exec("INSERT INTO ev_events (id, type, subject, data, created_at_us) VALUES ($1, "
                "'x', 's', '{}', 0)",
                {static_cast<std::int64_t>(runs)}));
    return fail(Code::internal, "boom");
  });
  write([&](store::Tx& tx) { return schedule(tx, env_, "test.fail", "k", clock_.now_us()); });
  EXPECT_EQ(runner.run_once(), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events"), 0);  // its writes were undone
  EXPECT_EQ(runner.run_once(), 0);                        // backing off
  clock_.advance_us(o.retry_base_us);
  EXPECT_EQ(runner.run_once(), 0);
  auto lease = store_->reads().lease();
  auto job = get_job(*lease, "test.fail", "k").value().value();
  EXPECT_EQ(job.status, "failed");
  EXPECT_EQ(job.attempts, 2);
  EXPECT_EQ(job.last_error.value_or(""), "boom");
  EXPECT_GE(runs, 2);  // the writer may re-run a command that failed after writing
}

TEST_F(EventsTest, ReEnablingAWebhookCountsAgainstTheLimit) {
  OrgId org{12};
  std::int64_t first = 0;
  write([&](store::Tx& tx) -> Status {
    for (int i = 0; i < 10; ++i) {
      JISHI_ASSIGN_OR_RETURN(auto w, create_webhook(tx, env_, org, UserId{1},
                                                    {"http://h/" + std::to_string(i), {"*"}, {}}));
      if (i == 0) first = w.first.id;
    }
    JISHI_TRY(update_webhook(tx, env_, org, first, std::nullopt, false));
    JISHI_TRY(create_webhook(tx, env_, org, UserId{1}, {"http://h/new", {"*"}, {}}));
    return {};
  });
  Status again;
  (void)store::run_and_wait(store_->writer(), [&](store::Tx& tx) {
    auto r = update_webhook(tx, env_, org, first, std::nullopt, true);
    again = r ? Status{} : Status(std::unexpected(r.error()));
    return r.has_value();
  });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::conflict);
}

TEST_F(EventsTest, SignatureIsHmacOverTimestampAndBody) {
  // Known answer: HMAC-SHA256("whsec_test", "1700000000.{}").
  auto h = signature_header("whsec_test", 1700000000, "{}");
  EXPECT_TRUE(h.starts_with("t=1700000000,v1="));
  EXPECT_EQ(h.size(), std::string("t=1700000000,v1=").size() + 64);
  EXPECT_NE(h, signature_header("whsec_test", 1700000000, "{ }"));
}

TEST_F(EventsTest, WebhookUrlsAreChecked) {
  EXPECT_FALSE(validate_webhook({"ftp://x/y", {"*"}, {}}));
  EXPECT_FALSE(validate_webhook({"http://user:pw@x/y", {"*"}, {}}));
  EXPECT_FALSE(validate_webhook({"http:///y", {"*"}, {}}));
  EXPECT_FALSE(validate_webhook({"http://x/y", {}, {}}));
  EXPECT_FALSE(validate_webhook({"http://x/y", {"order.*"}, {}}));
  EXPECT_TRUE(validate_webhook({"https://erp.example.com/hooks/jishi", {"order.paid"}, {}}));
}

// A sweep handles what its query finds, each key in a transaction of its own; a failing key is
// retried with backoff while the others go on. Its `after` runs once per pass, after the keys,
// in a transaction of its own.
TEST_F(EventsTest, ASweepHandlesWhatItFindsAndRetriesAFailureWithBackoff) {
  JobRunner runner(*store_, env_, JobRunnerOptions{});
  std::vector<std::string> due{"a", "b"};
  std::vector<std::string> handled;
  std::vector<std::int64_t> swept_seen_after;  // events of the keys committed, per pass
  bool b_fails = true;
  runner.sweep(
      "test.sweep",
      Sweep{[&](store::Conn&, const Env&) -> Result<std::vector<std::string>> { return due; },
            [&](store::Tx& tx, Env&, const std::string& key) -> Status {
              JISHI_TRY(
                  tx.exec("INSERT INTO ev_events (id, type, subject, data, created_at_us) "
                          "VALUES ($1, 'swept', $2, '{}', 0)",
                          {static_cast<std::int64_t>(handled.size() + 1), key}));
              if (key == "b" && b_fails) return fail(Code::internal, "b is broken");
              handled.push_back(key);
              return {};
            },
            [&](store::Tx& tx, Env&) -> Status {
              JISHI_ASSIGN_OR_RETURN(
                  auto n, tx.query_one("SELECT COUNT(*) FROM ev_events WHERE type = 'swept'", {},
                                       [](const store::Row& r) { return r.i64(0); }));
              swept_seen_after.push_back(n.value_or(-1));
              return {};
            },
            nullptr});
  EXPECT_EQ(runner.run_once(), 1);  // a; b failed and its writes were rolled back
  EXPECT_EQ(handled, (std::vector<std::string>{"a"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM ev_events WHERE subject = 'b'"), 0);
  due = {"b"};
  b_fails = false;
  EXPECT_EQ(runner.run_once(), 0);  // backing off
  clock_.advance_us(JobRunnerOptions{}.retry_base_us);
  EXPECT_EQ(runner.run_once(), 1);
  EXPECT_EQ(handled, (std::vector<std::string>{"a", "b"}));
  due.clear();
  EXPECT_EQ(runner.run_once(), 0);
  EXPECT_EQ(swept_seen_after, (std::vector<std::int64_t>{1, 1, 2, 2}));
}

}  // namespace
}  // namespace jishi::events

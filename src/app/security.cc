// The security verbs and background work: `jishi ca init`, the demo CA, `jishi verify audit`,
// `jishi verify signature`, `jishi keys rotate|status`, and the SecurityWorker that signs audit
// tree heads, keeps the CRL fresh, and re-encrypts personal data after a key rotation.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/app.h"
#include "app/security.h"
#include "audit/audit.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/thread_name.h"
#include "pki/pki.h"
#include "store/writer.h"

namespace jishi::app {

namespace {

// Every column that holds a FieldCipher ciphertext: table, key column, column, field name.
struct SealedColumn {
  const char* table;
  const char* key;
  const char* column;
  const char* field;
  const char* where;  // extra condition, or ""
};
constexpr SealedColumn kSealedColumns[] = {
    {"users", "id", "phone_enc", "users.phone", ""},
    {"users", "id", "real_name_enc", "users.real_name", ""},
    {"users", "id", "resident_id_enc", "users.resident_id", ""},
    {"pay_payout_accounts", "org_id", "account_no_enc", "payout_account_no", ""},
    {"ev_webhooks", "id", "secret_enc", "webhook.secret", ""},
    {"ord_addresses", "id", "recipient_enc", "address.recipient", ""},
    {"ord_addresses", "id", "phone_enc", "address.phone", ""},
    {"ord_addresses", "id", "detail_enc", "address.detail", ""},
    {"ord_orders", "id", "ship_to_enc", "order.ship_to", ""},
    // Orders from before migration 0016; newer ones leave these empty.
    {"ord_orders", "id", "recipient_enc", "order.recipient", " AND recipient_enc <> ''"},
    {"ord_orders", "id", "phone_enc", "order.phone", " AND phone_enc <> ''"},
    {"ord_orders", "id", "detail_enc", "order.detail", " AND detail_enc <> ''"},
    {"pki_ca", "role", "key_sealed", "pki.ca_key", " AND role <> 'root'"},
    {"pki_certs", "serial", "key_sealed", "pki.custodial_key", ""},
};
constexpr std::int64_t kRekeyBatch = 200;

std::string not_current_sql(const SealedColumn& c, bool count) {
  std::string sql = std::string("SELECT ") +
                    (count ? "COUNT(*)" : std::string(c.key) + ", " + c.column) + " FROM " +
                    c.table + " WHERE " + c.column + " IS NOT NULL AND substr(" + c.column +
                    ", 1, length($1) + 1) <> $1 || ':'" + c.where;
  if (!count) sql += " LIMIT " + std::to_string(kRekeyBatch);
  return sql;
}

// Re-encrypts up to a batch of one column's old ciphertexts under the current key.
Result<std::int64_t> rekey_batch(store::Tx& tx, const FieldCipher& cipher, const SealedColumn& c) {
  std::vector<std::pair<std::string, std::string>> rows;
  JISHI_TRY(
      tx.query(not_current_sql(c, false), {cipher.current_key_id()}, [&](const store::Row& r) {
        rows.emplace_back(r.str(0), r.str(1));
        return true;
      }));
  for (const auto& [key, sealed] : rows) {
    JISHI_ASSIGN_OR_RETURN(auto plain, cipher.decrypt(c.field, sealed));
    JISHI_TRY(tx.exec(std::string("UPDATE ") + c.table + " SET " + c.column + " = $1 WHERE " +
                          c.key + " = $2 AND " + c.column + " = $3",
                      {cipher.encrypt(c.field, plain), key, sealed}));
  }
  return static_cast<std::int64_t>(rows.size());
}

bool write(store::Store& st, const std::function<Status(store::Tx&)>& fn, std::string* error) {
  std::optional<Error> err;
  auto outcome = store::run_and_wait(st.writer(), [&](store::Tx& tx) {
    auto r = fn(tx);
    if (!r) err = r.error();
    return r.has_value();
  });
  if (err && error) *error = err->detail;
  if (!err && outcome != store::Outcome::committed && error) *error = "the write did not commit";
  return outcome == store::Outcome::committed;
}

Result<std::string> read_file(const std::string& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Code::not_found, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > max) return fail(Code::body_too_large, path + " is too large");
  return text;
}

audit::HeadVerifier head_verifier(store::Conn& conn) {
  return [&conn](std::string_view text, std::string_view serial, std::string_view sig) {
    auto cert = pki::get_cert(conn, serial);
    if (!cert) return false;
    return pki::verify_with_cert(cert->cert_pem, text, sig);
  };
}

}  // namespace

Status load_ca(Runtime& rt) {
  auto lease = rt.store->reads().lease();
  JISHI_ASSIGN_OR_RETURN(rt.ca, pki::Authority::load(*lease, *rt.cipher));
  if (rt.ca) rt.ca->set_crl_hours(rt.config.pki_crl_hours);
  return {};
}

std::string default_base_url(const Config& c) {
  return c.public_url.empty() ? "http://" + c.listen : c.public_url;
}

int ca_init(Runtime& rt, const std::string& algorithm, const std::string& organization,
            const std::string& passphrase, const std::string& base_url) {
  auto algo = pki::parse_algorithm(algorithm);
  if (!algo) {
    std::cerr << "jishi: --algorithm is sm2, p256 or rsa3072" << std::endl;
    return 2;
  }
  pki::CaInit init{*algo, organization, passphrase,
                   base_url.empty() ? default_base_url(rt.config) : base_url};
  Env env{rt.clock, *rt.ids, *rt.cipher};
  std::string error;
  bool ok = write(
      *rt.store,
      [&](store::Tx& tx) -> Status {
        JISHI_TRY(pki::init_ca(tx, env, init));
        JISHI_TRY(audit::append(tx, env.clock, "pki.ca_initialised", std::nullopt,
                                "{\"algorithm\":\"" + std::string(pki::name_of(*algo)) + "\"}"));
        return {};
      },
      &error);
  if (!ok) {
    std::cerr << "jishi: " << error << std::endl;
    return 1;
  }
  if (auto loaded = load_ca(rt); !loaded || !rt.ca) {
    std::cerr << "jishi: the CA was created but cannot be loaded" << std::endl;
    return 1;
  }
  std::cout << "CA initialised (" << pki::name_of(*algo) << "); URLs under " << init.base_url
            << "/pki/\n"
            << rt.ca->root_pem();
  return 0;
}

Status ensure_demo_ca(Runtime& rt) {
  JISHI_TRY(load_ca(rt));
  if (rt.ca) return {};
  std::string pass_path = rt.config.data_dir + "/ca-root-passphrase.txt";
  std::string passphrase = crypto::base64url(crypto::random_bytes(24));
  int fd = ::open(pass_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Code::storage_failure, "cannot write " + pass_path);
  std::string line = passphrase + "\n";
  bool wrote = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!wrote) return fail(Code::storage_failure, "cannot write " + pass_path);
  Env env{rt.clock, *rt.ids, *rt.cipher};
  pki::CaInit init{pki::Algorithm::sm2, "jishi Demo", passphrase, default_base_url(rt.config)};
  std::string error;
  if (!write(
          *rt.store, [&](store::Tx& tx) { return pki::init_ca(tx, env, init); }, &error))
    return fail(Code::storage_failure, "demo CA: " + error);
  JISHI_TRY(load_ca(rt));
  std::cout << "demo: initialised a demo SM2 certification authority (root passphrase in "
            << pass_path << "); CA URLs under " << init.base_url << "/pki/" << std::endl;
  return {};
}

int verify_audit(const Config& config) {
  auto rt = open_runtime(config, false);
  if (!rt) {
    std::cerr << "jishi: " << rt.error().detail << std::endl;
    return 1;
  }
  auto lease = (*rt)->store->reads().lease();
  auto report = audit::verify_log(*lease, head_verifier(*lease));
  if (!report) {
    std::cerr << "jishi: " << report.error().detail << std::endl;
    return 1;
  }
  if (!report->ok) {
    for (const auto& p : report->problems) std::cout << "audit: " << p << "\n";
    std::cout << "audit FAILED: " << report->problems.size() << " problem(s) in " << report->entries
              << " entries and " << report->heads << " signed heads" << std::endl;
    return 1;
  }
  std::cout << "audit ok: " << report->entries << " entries, " << report->heads
            << " signed heads, every root and signature verified" << std::endl;
  return 0;
}

int verify_signature(const std::string& package_path, const std::string& document_path,
                     const std::vector<std::string>& trust_paths) {
  auto package = read_file(package_path, 1 << 20);
  if (!package) {
    std::cerr << "jishi: " << package.error().detail << std::endl;
    return 2;
  }
  std::optional<std::string> document;
  if (!document_path.empty()) {
    auto d = read_file(document_path, 64 << 20);
    if (!d) {
      std::cerr << "jishi: " << d.error().detail << std::endl;
      return 2;
    }
    document = *d;
  }
  std::vector<std::string> trusted;
  for (const auto& t : trust_paths) {
    auto pem = read_file(t, 1 << 20);
    if (!pem) {
      std::cerr << "jishi: " << pem.error().detail << std::endl;
      return 2;
    }
    trusted.push_back(*pem);
  }
  bool self_anchored = trusted.empty();
  if (self_anchored) {
    // Without --trust, the package's own root is the anchor: that proves integrity and the
    // timeline, not who the CA is. Say so, with its fingerprint to compare out of band.
    auto parsed = parse_json(*package);
    if (parsed && parsed->is_object() && parsed->as_object().contains("certificates") &&
        parsed->as_object().at("certificates").is_array() &&
        !parsed->as_object().at("certificates").as_array().empty()) {
      const auto& certs = parsed->as_object().at("certificates").as_array();
      if (certs.back().is_string()) trusted.emplace_back(certs.back().as_string());
    }
  }
  auto v = pki::verify_package(*package, document, trusted, {});
  for (const auto& [name, result] : v.checks) std::cout << name << ": " << result << "\n";
  if (!document) std::cout << "document: not checked (pass --document FILE)\n";
  std::cout << "signer: " << v.signer_subject << " (serial " << v.signer_serial << ")\n";
  if (self_anchored && !trusted.empty())
    std::cout << "trust: anchored on the package's own root, SHA-256 "
              << pki::fingerprint_of_pem(trusted.back())
              << " — compare it with the CA's published fingerprint or pass --trust ROOT.pem\n";
  std::cout << (v.ok ? "signature VALID" : "signature INVALID") << std::endl;
  return v.ok ? 0 : 1;
}

int keys_rotate(const Config& config, const std::string& scheme) {
  auto id =
      FieldCipher::add_key(config.key_file_path(), scheme.empty() ? config.field_cipher : scheme);
  if (!id) {
    std::cerr << "jishi: " << id.error().detail << std::endl;
    return 1;
  }
  std::cout << "new current key " << *id << " (" << (scheme.empty() ? config.field_cipher : scheme)
            << ") added to " << config.key_file_path()
            << "; a running server picks it up within seconds and re-encrypts personal data in "
               "the background (jishi keys status shows progress)"
            << std::endl;
  return 0;
}

int keys_status(const Config& config) {
  auto rt = open_runtime(config, false);
  if (!rt) {
    std::cerr << "jishi: " << rt.error().detail << std::endl;
    return 1;
  }
  auto lease = (*rt)->store->reads().lease();
  std::string current = (*rt)->cipher->current_key_id();
  std::int64_t total = 0;
  for (const auto& c : kSealedColumns) {
    auto n = lease->query_one(not_current_sql(c, true), {current},
                              [](const store::Row& r) { return r.i64(0); });
    if (!n) {
      std::cerr << "jishi: " << n.error().detail << std::endl;
      return 1;
    }
    total += n->value_or(0);
    if (n->value_or(0) > 0)
      std::cout << c.table << "." << c.column << ": " << *n.value() << " under older keys\n";
  }
  std::cout << "current key " << current << " (" << (*rt)->cipher->current_scheme() << "); "
            << total << " value(s) still under older keys" << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------

SecurityWorker::SecurityWorker(Runtime& rt, std::int64_t head_interval_s)
    : rt_(rt), head_interval_us_(head_interval_s * 1'000'000) {}

SecurityWorker::~SecurityWorker() {
  stop();
}

void SecurityWorker::start() {
  thread_ = std::thread([this] {
    name_this_thread("jishi-security");
    loop();
  });
}

void SecurityWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t SecurityWorker::run_once() {
  std::int64_t did = 0;
  Env env{rt_.clock, *rt_.ids, *rt_.cipher};
  std::string error;
  // 1. A signed tree head when the log grew and the interval has passed.
  std::int64_t now = rt_.clock.now_us();
  if (rt_.ca && now - last_head_us_ >= head_interval_us_) {
    const pki::Authority* ca = rt_.ca.get();
    audit::HeadSigner signer = [ca](std::string_view text) -> Result<audit::HeadSignature> {
      JISHI_ASSIGN_OR_RETURN(auto sig, ca->sign_with_platform_key(text));
      return audit::HeadSignature{sig.algorithm, sig.serial, sig.signature_base64};
    };
    std::optional<audit::Head> head;
    {
      auto lease = rt_.store->reads().lease();
      auto h = audit::make_head(*lease, env, signer);
      if (!h)
        spdlog::warn("audit: cannot make a tree head: {}", h.error().detail);
      else
        head = *h;
    }
    if (head) {
      if (write(
              *rt_.store, [&](store::Tx& tx) { return audit::save_head(tx, *head); }, &error)) {
        ++did;
        spdlog::info("audit: signed tree head size={} root={}", head->tree_size, head->root_hash);
      } else {
        spdlog::warn("audit: cannot store a tree head: {}", error);
      }
    }
    last_head_us_ = now;
  }
  // 2. The CRL, re-issued at half its lifetime.
  if (rt_.ca) {
    bool due = false;
    {
      auto lease = rt_.store->reads().lease();
      auto d = pki::Authority::crl_due(*lease, now);
      due = d && *d;
    }
    if (due && write(
                   *rt_.store,
                   [&](store::Tx& tx) -> Status {
                     JISHI_TRY(rt_.ca->issue_crl(tx, env));
                     return {};
                   },
                   &error))
      ++did;
  }
  // 3. Key rotation: pick up a new current key, then re-encrypt old ciphertexts in batches.
  auto changed = rt_.cipher->reload();
  if (!changed) {
    spdlog::error("keys: {}", changed.error().detail);
  } else if (*changed) {
    spdlog::info("keys: current key is now {} ({}); re-encrypting in the background",
                 rt_.cipher->current_key_id(), rt_.cipher->current_scheme());
    rekey_pending_ = true;
  }
  if (rekey_pending_) {
    std::int64_t moved = 0;
    for (const auto& c : kSealedColumns) {
      std::int64_t n = 0;
      write(
          *rt_.store,
          [&](store::Tx& tx) -> Status {
            JISHI_ASSIGN_OR_RETURN(n, rekey_batch(tx, *rt_.cipher, c));
            return {};
          },
          &error);
      moved += n;
    }
    did += moved;
    rekeyed_ += moved;
    if (moved == 0) {
      rekey_pending_ = false;
      spdlog::info("keys: re-encryption done ({} values under key {})", rekeyed_,
                   rt_.cipher->current_key_id());
    }
  }
  return did;
}

void SecurityWorker::loop() {
  std::unique_lock lock(mutex_);
  rekey_pending_ = true;  // after a restart, finish a rotation that was under way
  while (!stopping_) {
    lock.unlock();
    std::int64_t did = run_once();
    lock.lock();
    if (did > 0 && rekey_pending_) continue;
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

}  // namespace jishi::app

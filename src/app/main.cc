// jishi: the e-commerce platform server and its command-line verbs.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "app/app.h"
#include "app/security.h"
#include "core/log.h"
#include "store/migrate.h"

extern char** environ;

namespace {

using namespace jishi;

struct CommonFlags {
  std::string config_file;
  std::string data_dir;
  std::string listen;
  std::string log_level;
  std::vector<std::string> sets;
};

void add_common(CLI::App* cmd, CommonFlags& f, bool server) {
  cmd->add_option("--config", f.config_file, "TOML configuration file");
  cmd->add_option("--data-dir", f.data_dir, "Directory for jishi.db, the key file and uploads");
  if (server) cmd->add_option("--listen", f.listen, "HOST:PORT to listen on (port 0: any free)");
  cmd->add_option("--log-level", f.log_level, "trace, debug, info, warn, error or off");
  cmd->add_option("--set", f.sets, "Set any configuration key: --set key=value (repeatable)");
}

// Defaults < config file < JISHI_* environment < flags.
Result<Config> build_config(const CommonFlags& f, const std::string& default_data_dir,
                            bool demo = false) {
  Config c;
  if (!default_data_dir.empty()) c.data_dir = default_data_dir;
  if (demo) {
    // The demo shows reconciliation and a platform coping with a realistic gateway.
    c.simulator_faults = true;
    c.simulator_duplicate_pct = 20;
    c.simulator_reorder_pct = 20;
  }
  if (!f.config_file.empty()) JISHI_TRY(config_apply_toml_file(c, f.config_file));
  JISHI_TRY(config_apply_env(c, environ));
  if (!f.data_dir.empty()) JISHI_TRY(config_set(c, "data_dir", f.data_dir));
  if (!f.listen.empty()) JISHI_TRY(config_set(c, "listen", f.listen));
  if (!f.log_level.empty()) JISHI_TRY(config_set(c, "log_level", f.log_level));
  for (const auto& kv : f.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      return fail(Code::validation_failed, "--set takes key=value, got " + kv);
    JISHI_TRY(config_set(c, kv.substr(0, eq), kv.substr(eq + 1)));
  }
  JISHI_TRY(config_validate(c));
  return c;
}

int report(const Error& e) {
  std::cerr << "jishi: " << e.detail << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"jishi (集市): an open e-commerce platform with payment, credit and trust services"};
  app.require_subcommand(1);

  CommonFlags serve_flags, demo_flags, migrate_flags, admin_flags;
  auto* serve = app.add_subcommand("serve", "Run the HTTP server");
  add_common(serve, serve_flags, true);

  auto* demo =
      app.add_subcommand("demo", "Run the server with demo accounts and data (./demo-data)");
  add_common(demo, demo_flags, true);

  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  add_common(migrate, migrate_flags, false);

  auto* admin = app.add_subcommand("admin", "Administrative tasks");
  admin->require_subcommand(1);
  auto* create =
      admin->add_subcommand("create",
                            "Create a platform account (the first operator); password from "
                            "JISHI_ADMIN_PASSWORD or standard input");
  add_common(create, admin_flags, false);
  std::string email, name = "Platform operator", role = "operator";
  create->add_option("--email", email, "Sign-in email")->required();
  create->add_option("--name", name, "Display name");
  create->add_option("--role", role, "operator, regulator, ca_officer or arbitrator");

  auto* verify = app.add_subcommand("verify", "Check invariants of stored data");
  verify->require_subcommand(1);
  auto* verify_ledger = verify->add_subcommand(
      "ledger", "Per currency debits == credits, flags hold, balances == sums of transfers");
  CommonFlags verify_flags;
  add_common(verify_ledger, verify_flags, false);
  auto* verify_stock = verify->add_subcommand(
      "stock", "Per SKU: journal sums == on hand, reserved == the units on unpaid orders' lines");
  CommonFlags verify_stock_flags;
  add_common(verify_stock, verify_stock_flags, false);

  auto* verify_audit = verify->add_subcommand(
      "audit", "Recompute the audit log's Merkle tree and check every signed tree head");
  CommonFlags verify_audit_flags;
  add_common(verify_audit, verify_audit_flags, false);
  auto* verify_sig = verify->add_subcommand(
      "signature", "Verify an evidence package (signature, chain, OCSP, timestamp); no server");
  std::string sig_package, sig_document;
  std::vector<std::string> sig_trust;
  verify_sig->add_option("package", sig_package, "The evidence package (JSON)")->required();
  verify_sig->add_option("--document", sig_document, "The signed document, to check its hash");
  verify_sig->add_option("--trust", sig_trust,
                         "Root certificate(s) to anchor on (PEM; repeatable); default: the "
                         "package's own root, with its fingerprint printed");

  auto* ca = app.add_subcommand("ca", "The certification authority");
  ca->require_subcommand(1);
  auto* ca_init = ca->add_subcommand(
      "init", "Create the root and issuing CA (root passphrase from JISHI_CA_PASSPHRASE or stdin)");
  CommonFlags ca_flags;
  add_common(ca_init, ca_flags, false);
  std::string ca_algorithm = "sm2", ca_org = "jishi", ca_base_url, ca_pass_file;
  ca_init->add_option("--algorithm", ca_algorithm, "sm2 (default), p256 or rsa3072");
  ca_init->add_option("--organization", ca_org, "The CA's organisation name (O=)");
  ca_init->add_option("--base-url", ca_base_url,
                      "Where /pki/crl and /pki/ocsp are reached (default: public_url)");
  ca_init->add_option("--passphrase-file", ca_pass_file, "Read the root key's passphrase here");

  auto* keys = app.add_subcommand("keys", "The personal-data encryption keys");
  keys->require_subcommand(1);
  auto* keys_rotate = keys->add_subcommand(
      "rotate", "Add a new current key; the server re-encrypts old values in the background");
  CommonFlags keys_flags;
  add_common(keys_rotate, keys_flags, false);
  std::string keys_scheme;
  keys_rotate->add_option("--scheme", keys_scheme, "sm4 or aes (default: config field_cipher)");
  auto* keys_status = keys->add_subcommand("status", "How many values are under older keys");
  CommonFlags keys_status_flags;
  add_common(keys_status, keys_status_flags, false);

  auto* settle = app.add_subcommand(
      "settle", "Settle one business date: merchant batches, settlement file, payouts");
  CommonFlags settle_flags;
  add_common(settle, settle_flags, false);
  std::string settle_date, settle_currency = "CNY";
  settle
      ->add_option("--date", settle_date, "Business date YYYY-MM-DD (its cut-off must have passed)")
      ->required();
  settle->add_option("--currency", settle_currency, "ISO 4217 currency");

  auto* reconcile =
      app.add_subcommand("reconcile", "Match a channel's business day against its statement file");
  CommonFlags recon_flags;
  add_common(reconcile, recon_flags, false);
  std::string recon_channel, recon_date, recon_statement, recon_prev, recon_next;
  reconcile->add_option("--channel", recon_channel, "card, netbank or qr")->required();
  reconcile->add_option("--date", recon_date, "Business date YYYY-MM-DD")->required();
  reconcile->add_option("--statement", recon_statement, "The channel's statement CSV of the date")
      ->required();
  reconcile->add_option("--previous", recon_prev, "The previous day's statement (optional)");
  reconcile->add_option("--next", recon_next, "The next day's statement (optional)");

  auto* gateway_call = app.add_subcommand(
      "gateway-call",
      "Call the built-in simulator's gateway as the platform (signed with DATA_DIR/gateway keys) "
      "and print the answer as JSON: create, query, refund, statement, verify-notification");
  CommonFlags gateway_flags;
  add_common(gateway_call, gateway_flags, false);
  std::string gateway_url, gateway_method, gateway_args;
  gateway_call->add_option("--url", gateway_url, "The server's base URL (http://HOST:PORT)")
      ->required();
  gateway_call
      ->add_option("method", gateway_method,
                   "create|query|refund|statement|"
                   "verify-notification")
      ->required();
  gateway_call->add_option("args", gateway_args, "The arguments as one JSON object")->required();

  auto* version = app.add_subcommand("version", "Print the version and schema version");
  auto* routes = app.add_subcommand("routes", "List every HTTP route (METHOD /pattern)");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "jishi " << JISHI_VERSION << " (schema " << store::latest_schema_version() << ")"
              << std::endl;
    return 0;
  }

  if (routes->parsed()) return app::print_routes();

  if (verify_ledger->parsed()) {
    auto config = build_config(verify_flags, "");
    if (!config) return report(config.error());
    return app::verify_ledger(*config);
  }

  if (verify_stock->parsed()) {
    auto config = build_config(verify_stock_flags, "");
    if (!config) return report(config.error());
    return app::verify_stock(*config);
  }

  if (verify_audit->parsed()) {
    auto config = build_config(verify_audit_flags, "");
    if (!config) return report(config.error());
    init_logging("warn");
    return app::verify_audit(*config);
  }

  if (verify_sig->parsed()) return app::verify_signature(sig_package, sig_document, sig_trust);

  if (ca_init->parsed()) {
    auto config = build_config(ca_flags, "");
    if (!config) return report(config.error());
    init_logging(config->log_level.empty() ? "warn" : config->log_level);
    std::string passphrase;
    if (!ca_pass_file.empty()) {
      std::ifstream in(ca_pass_file);
      std::getline(in, passphrase);
    } else if (const char* p = std::getenv("JISHI_CA_PASSPHRASE")) {
      passphrase = p;
    } else {
      std::cerr << "root key passphrase: " << std::flush;
      std::getline(std::cin, passphrase);
    }
    auto rt = app::open_runtime(*config, true);
    if (!rt) return report(rt.error());
    return app::ca_init(**rt, ca_algorithm, ca_org, passphrase, ca_base_url);
  }

  if (keys_rotate->parsed() || keys_status->parsed()) {
    auto config = build_config(keys_rotate->parsed() ? keys_flags : keys_status_flags, "");
    if (!config) return report(config.error());
    init_logging("warn");
    if (keys_rotate->parsed()) return app::keys_rotate(*config, keys_scheme);
    return app::keys_status(*config);
  }

  if (settle->parsed() || reconcile->parsed()) {
    auto config = build_config(settle->parsed() ? settle_flags : recon_flags, "");
    if (!config) return report(config.error());
    init_logging(config->log_level.empty() ? "warn" : config->log_level);
    auto rt = app::open_runtime(*config, false);
    if (!rt) return report(rt.error());
    if (settle->parsed()) return app::run_settle(**rt, settle_date, settle_currency);
    return app::run_reconcile(**rt, recon_channel, recon_date, recon_statement, recon_prev,
                              recon_next);
  }

  if (serve->parsed() || demo->parsed()) {
    bool is_demo = demo->parsed();
    auto config =
        build_config(is_demo ? demo_flags : serve_flags, is_demo ? "./demo-data" : "", is_demo);
    if (!config) return report(config.error());
    init_logging(config->log_level);
    auto rt = app::open_runtime(*config, true, true);
    if (!rt) return report(rt.error());
    if (is_demo) {
      if (auto ca_ok = app::ensure_demo_ca(**rt); !ca_ok) return report(ca_ok.error());
      if (auto seeded = app::seed_demo(**rt); !seeded) return report(seeded.error());
      app::print_demo_accounts();
    }
    return app::serve(**rt);
  }

  if (migrate->parsed()) {
    auto config = build_config(migrate_flags, "");
    if (!config) return report(config.error());
    init_logging(config->log_level);
    auto rt = app::open_runtime(*config, false);
    if (rt) {
      std::cout << "schema is current (version " << store::latest_schema_version() << ")\n";
      return 0;
    }
    if (rt.error().code != Code::invalid_state ||
        rt.error().detail.find("run `jishi migrate`") == std::string::npos)
      return report(rt.error());
    // Not under a running server: an older one would go on writing as its schema says (it
    // would store order.created events that the new schema makes from the orders).
    auto lock = app::hold_serve_lock(*config);
    if (!lock) return report(lock.error());
    auto migrated = app::open_runtime(*config, true);
    if (!migrated) return report(migrated.error());
    std::cout << "migrated to schema version " << store::latest_schema_version() << "\n";
    return 0;
  }

  if (gateway_call->parsed()) {
    auto config = build_config(gateway_flags, "");
    if (!config) return report(config.error());
    init_logging(config->log_level.empty() ? "warn" : config->log_level);
    return app::gateway_call(*config, gateway_url, gateway_method, gateway_args);
  }

  if (create->parsed()) {
    auto config = build_config(admin_flags, "");
    if (!config) return report(config.error());
    init_logging(config->log_level.empty() ? "warn" : config->log_level);
    std::string password;
    if (const char* p = std::getenv("JISHI_ADMIN_PASSWORD")) {
      password = p;
    } else {
      std::cerr << "password: " << std::flush;
      std::getline(std::cin, password);
    }
    auto rt = app::open_runtime(*config, true);
    if (!rt) return report(rt.error());
    if (auto ok = app::create_platform_user(**rt, email, password, name, role); !ok)
      return report(ok.error());
    std::cout << "created " << role << " " << email << std::endl;
    return 0;
  }
  return 0;
}

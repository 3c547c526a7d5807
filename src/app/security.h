// The security verbs and the SecurityWorker (see security.cc).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/result.h"

namespace jishi::app {

struct Runtime;

// Loads the CA from the database into rt.ca (left null when there is none).
Status load_ca(Runtime& rt);
// `jishi ca init`: creates the hierarchy; prints the root certificate.
int ca_init(Runtime& rt, const std::string& algorithm, const std::string& organization,
            const std::string& passphrase, const std::string& base_url);
// `jishi demo`: a demo SM2 CA when there is none (its root passphrase in DATA_DIR).
Status ensure_demo_ca(Runtime& rt);
// `jishi verify audit`: recomputes the log's tree and checks every signed head.
int verify_audit(const Config& config);
// `jishi verify signature PACKAGE [--document F] [--trust ROOT.pem ...]`: no server needed.
int verify_signature(const std::string& package_path, const std::string& document_path,
                     const std::vector<std::string>& trust_paths);
// `jishi keys rotate [--scheme sm4|aes]` and `jishi keys status`.
int keys_rotate(const Config& config, const std::string& scheme);
int keys_status(const Config& config);

// Background security work on its own thread: signed audit tree heads every interval, CRL
// renewal, and re-encryption of personal data after `jishi keys rotate`.
class SecurityWorker {
 public:
  SecurityWorker(Runtime& rt, std::int64_t head_interval_s);
  ~SecurityWorker();
  void start();
  void stop();
  std::int64_t run_once();

 private:
  void loop();
  Runtime& rt_;
  std::int64_t head_interval_us_;
  std::int64_t last_head_us_ = 0;
  bool rekey_pending_ = false;
  std::int64_t rekeyed_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jishi::app

// Internals of the simulator shared by its .cc files; nothing outside src/paysim includes this.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/clock.h"
#include "pay/gateway_sign.h"
#include "paysim/simulator.h"
#include "store/database.h"

namespace jishi::paysim {

struct Simulator::Impl {
  std::mutex mu;  // guards everything below but the thread fields
  std::unique_ptr<store::Conn> db;
  pay::Signer signer;
  pay::Verifier platform;
  std::mt19937_64 rng;
  std::string public_url;
  SystemClock system_clock;
  std::int64_t notify_seq = 0;

  std::mutex thread_mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  Result<SimTrade> load(std::string_view column, std::string_view value);
};

// The channel fee of a payment, minor units, rounded half to even.
std::int64_t fee_for(std::string_view channel, std::int64_t amount);

}  // namespace jishi::paysim

#include "store/read_pool.h"

namespace jishi::store {

ReadPool::ReadPool(std::vector<std::unique_ptr<Conn>> conns) : free_(std::move(conns)) {}

ReadPool::Lease ReadPool::lease() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !free_.empty(); });
  auto conn = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(conn));
}

void ReadPool::give_back(std::unique_ptr<Conn> conn) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace jishi::store

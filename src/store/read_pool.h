// A fixed pool of read connections. WAL readers see the last committed state and never
// block the writer. lease() waits when every connection is in use.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "store/database.h"

namespace jishi::store {

class ReadPool {
 public:
  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(std::move(conn_));
    }
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }

   private:
    ReadPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  explicit ReadPool(std::vector<std::unique_ptr<Conn>> conns);
  Lease lease();

 private:
  void give_back(std::unique_ptr<Conn> conn);

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> free_;
};

}  // namespace jishi::store

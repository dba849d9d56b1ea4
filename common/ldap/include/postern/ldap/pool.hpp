// NAME
//   pool - connections shared by the milter threads, each lent to one caller
// SUMMARY
//   Pool pool(settings);
//   auto lease = pool.acquire(deadline);                  // Outcome<Pool::Lease>
//   if (auto* l = std::get_if<Pool::Lease>(&lease)) { auto r = l->get().search(...); if (broken) l->discard(); }
// DESCRIPTION
//   At most settings.pool_size connections exist. acquire() hands out an
//   idle one, or opens a new one while fewer exist, or waits for one to come
//   back, never past the deadline. A Lease returns its connection to the
//   idle list when it goes away, unless discard() was called (a broken
//   connection is closed, and the next acquire opens a fresh one). Opening
//   happens outside the lock, so a slow server delays only the caller that
//   opens. fresh() on a Lease says whether its connection was opened for it.
// THREADS
//   Safe from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "postern/ldap/connection.hpp"
#include "postern/ldap/settings.hpp"

namespace postern::ldap {

class Pool {
 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Connection& get() noexcept { return *connection_; }
    void discard() noexcept { discard_ = true; }
    bool fresh() const noexcept { return fresh_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> c, bool fresh) noexcept
        : pool_(pool), connection_(std::move(c)), fresh_(fresh) {}
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
    bool fresh_;
    bool discard_ = false;
  };

  explicit Pool(Settings settings);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  Outcome<Lease> acquire(Deadline deadline);
  // Closes every idle connection (the next acquire opens fresh ones).
  void drop_idle();

  std::size_t open_count() const;   // idle + lent
  std::size_t opened_total() const;  // connections ever opened

 private:
  void give_back(std::unique_ptr<Connection> c, bool discard) noexcept;

  const Settings settings_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
  std::size_t opened_total_ = 0;
};

}  // namespace postern::ldap

#include "postern/ldap/pool.hpp"

#include <utility>

namespace postern::ldap {

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      connection_(std::move(other.connection_)),
      fresh_(other.fresh_),
      discard_(other.discard_) {}

Pool::Lease::~Lease() {
  if (pool_ != nullptr) {
    pool_->give_back(std::move(connection_), discard_);
  }
}

Pool::Pool(Settings settings) : settings_(std::move(settings)) {}

Outcome<Pool::Lease> Pool::acquire(Deadline deadline) {
  std::unique_lock lock(mutex_);
  const std::size_t size = settings_.pool_size == 0 ? 1 : settings_.pool_size;
  const bool ready = returned_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_ < size; });
  if (!ready) {
    return Error{Error::Kind::timeout, "ldap: every connection is busy: timed out"};
  }
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(c), false);
  }
  ++open_;
  lock.unlock();
  auto opened = Connection::open(settings_, deadline);
  lock.lock();
  if (auto* error = std::get_if<Error>(&opened)) {
    --open_;
    returned_.notify_one();
    return std::move(*error);
  }
  ++opened_total_;
  return Lease(this, std::move(std::get<std::unique_ptr<Connection>>(opened)), true);
}

void Pool::give_back(std::unique_ptr<Connection> c, bool discard) noexcept {
  std::unique_ptr<Connection> closing;  // closed outside the lock
  {
    std::lock_guard lock(mutex_);
    if (discard || !c) {
      closing = std::move(c);
      --open_;
    } else {
      idle_.push_back(std::move(c));
    }
  }
  returned_.notify_one();
}

void Pool::drop_idle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
    open_ -= closing.size();
  }
  returned_.notify_all();
}

std::size_t Pool::open_count() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t Pool::opened_total() const {
  std::lock_guard lock(mutex_);
  return opened_total_;
}

}  // namespace postern::ldap

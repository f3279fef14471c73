// Produces item i+1 on a background thread while the caller works on item i, and measures how long the caller
// waited for data.
#pragma once

#include <chrono>
#include <functional>
#include <future>

namespace tal {

template <class T>
class Prefetcher {
 public:
  // produce(i) builds item i; items [0, limit) exist.
  Prefetcher(std::function<T(int64_t)> produce, int64_t limit) : produce_(std::move(produce)), limit_(limit) {}
  ~Prefetcher() {
    if (pending_.valid()) pending_.wait();
  }

  T get(int64_t i) {
    const auto t0 = std::chrono::steady_clock::now();
    T item = (pending_.valid() && pending_index_ == i) ? pending_.get() : (drain(), produce_(i));
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i + 1 < limit_) {
      pending_index_ = i + 1;
      pending_ = std::async(std::launch::async, produce_, i + 1);
    }
    return item;
  }
  double wait_seconds() const { return wait_seconds_; }

 private:
  void drain() {
    if (pending_.valid()) pending_.get();
  }
  std::function<T(int64_t)> produce_;
  int64_t limit_;
  std::future<T> pending_;
  int64_t pending_index_ = -1;
  double wait_seconds_ = 0;
};

}  // namespace tal

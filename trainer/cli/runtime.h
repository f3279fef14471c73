// What main owns for the whole process and hands to the commands: the distributed runtime, started on first use
// and torn down (MPI_Finalize) when main returns, after every command object is gone.
#pragma once

#include <memory>

#include "dist/dist_context.h"
#include "trainer/config/options.h"

namespace tal {

class Runtime {
 public:
  DistContext& dist(const DistOptions& o) {
    if (!dist_) dist_ = std::make_unique<DistContext>(o.backend, o.watchdog_seconds);
    return *dist_;
  }
  DistContext* started() const { return dist_.get(); }

 private:
  std::unique_ptr<DistContext> dist_;
};

}  // namespace tal

// Collectives under mpirun (ctest runs this binary at -np 2 and -np 4): results against closed forms, and
// mismatched collectives raising on every rank instead of hanging.
#include <gtest/gtest.h>

#include "dist/dist_context.h"
#include "base/error.h"

namespace tal {
namespace {

Communicator* g_comm = nullptr;

TEST(Mpi, AllreduceEqualsTheClosedFormSum) {
  auto& c = *g_comm;
  const int w = c.world();
  for (auto dtype : {at::kFloat, at::kDouble, at::kLong, at::kInt}) {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{4096}, (int64_t{1} << 20) + 3}) {
      auto t = (at::arange(n, at::kLong) % 1000 * (c.rank() + 1)).to(dtype);
      c.allreduce_sum(t, "test allreduce");
      const auto expected = (at::arange(n, at::kLong) % 1000 * (w * (w + 1) / 2)).to(dtype);
      EXPECT_TRUE(at::equal(t, expected)) << c10::toString(dtype) << " n=" << n;
    }
  }
  auto mean = at::full({3}, static_cast<double>(c.rank()), at::kDouble);
  c.allreduce_mean(mean, "test mean");
  EXPECT_DOUBLE_EQ(mean[0].item<double>(), (w - 1) / 2.0);
}

TEST(Mpi, BroadcastAllgatherConsensus) {
  auto& c = *g_comm;
  const int root = c.world() - 1;
  auto t = at::full({5}, c.rank() == root ? 42.0 : -1.0, at::kFloat);
  c.broadcast(t, root, "test broadcast");
  EXPECT_TRUE(at::all(t == 42).item<bool>());
  const auto all = c.allgather(at::full({2}, c.rank(), at::kLong), "test allgather");
  for (int r = 0; r < c.world(); ++r) EXPECT_EQ(all[r][1].item<int64_t>(), r);
  EXPECT_FALSE(c.any(false));
  EXPECT_TRUE(c.any(c.rank() == root));
  EXPECT_EQ(c.ranks_where(c.rank() % 2 == 1).size(), static_cast<size_t>(c.world() / 2));
  c.barrier("test barrier");
}

TEST(Mpi, MismatchedCollectivesRaiseOnEveryRank) {
  auto& c = *g_comm;
  if (c.world() < 2) GTEST_SKIP() << "needs 2 ranks";
  auto bad_shape = at::zeros({10 + c.rank()}, at::kFloat);
  try {
    c.allreduce_sum(bad_shape, "mismatched allreduce");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ranks disagree"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mismatched allreduce"), std::string::npos) << e.what();
  }
  auto bad_dtype = c.rank() == 0 ? at::zeros({4}, at::kFloat) : at::zeros({4}, at::kDouble);
  EXPECT_THROW(c.allreduce_sum(bad_dtype, "mismatched dtype"), Error);
  auto ok = at::ones({4}, at::kFloat);  // and the communicator still works afterwards
  c.allreduce_sum(ok, "after mismatch");
  EXPECT_EQ(ok[0].item<float>(), static_cast<float>(c.world()));
}

}  // namespace
}  // namespace tal

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tal::DistContext ctx("mpi", /*watchdog_seconds=*/60);
  tal::g_comm = &ctx.comm();
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (ctx.comm().rank() != 0) delete listeners.Release(listeners.default_result_printer());
  const int rc = RUN_ALL_TESTS();
  auto failed = at::full({1}, rc != 0 ? 1 : 0, at::kInt);
  ctx.comm().allreduce_sum(failed, "test verdict");
  return failed.item<int>() > 0 ? 1 : 0;
}

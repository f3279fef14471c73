#include <gtest/gtest.h>
#include <hdf5.h>

#include <functional>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "datasets/atomic_file.h"
#include "datasets/h5.h"
#include "datasets/h5_check.h"
#include "base/error.h"
#include "tests/test_util.h"

namespace tal {
namespace {

std::string temp_path(const std::string& name) {
  static const test::TempDir scratch;
  return scratch.file(name);
}

TEST(H5File, RoundTripsTensorsStringsAndAttributes) {
  const auto path = temp_path("roundtrip.h5");
  const auto big = at::randn({300, 40});
  {
    H5File f(path, H5File::Mode::Truncate);
    f.write("/a/b/big", big);
    f.write("/ints", at::arange(5, at::kLong));
    f.write("/bytes", at::arange(7, at::kByte));
    f.write_strings("/names", {"x", "", "encoder.ln.weight"});
    f.set_attr("/a", "count", int64_t{3});
    f.set_attr("/a", "scale", 0.5);
    f.set_attr("/", "kind", "test");
  }
  H5File f(path, H5File::Mode::Read);
  EXPECT_TRUE(at::equal(f.read("/a/b/big"), big));
  EXPECT_TRUE(at::equal(f.read("/ints"), at::arange(5, at::kLong)));
  EXPECT_EQ(f.read("/bytes").scalar_type(), at::kByte);
  EXPECT_EQ(f.read_strings("/names"), (std::vector<std::string>{"x", "", "encoder.ln.weight"}));
  EXPECT_EQ(f.attr_int("/a", "count"), 3);
  EXPECT_DOUBLE_EQ(f.attr_float("/a", "scale"), 0.5);
  EXPECT_EQ(f.attr_str("/", "kind"), "test");
  EXPECT_EQ(f.children("/a"), (std::vector<std::string>{"b"}));
  EXPECT_FALSE(f.exists("/a/c/d"));
  EXPECT_THROW(f.read("/missing"), Error);
}

TEST(H5File, BadFilesGiveOneClearError) {
  const auto text = temp_path("not_hdf5.h5");
  std::ofstream(text) << "hello";
  try {
    H5File f(text, H5File::Mode::Read);
    FAIL() << "opened a text file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
  // A truncated HDF5 file.
  const auto good = temp_path("truncate_me.h5");
  {
    H5File f(good, H5File::Mode::Truncate);
    f.write("/x", at::randn({1000, 100}));
  }
  std::filesystem::resize_file(good, std::filesystem::file_size(good) / 2);
  EXPECT_THROW(
      {
        H5File f(good, H5File::Mode::Read);
        f.read("/x");
      },
      Error);
  EXPECT_THROW(H5File(temp_path("does_not_exist.h5"), H5File::Mode::Read), Error);
}

TEST(AtomicFile, FailureLeavesTheOldFileUntouched) {
  const auto path = temp_path("atomic.h5");
  write_atomically(path, [](const std::string& tmp) {
    H5File f(tmp, H5File::Mode::Truncate);
    f.set_attr("/", "version", int64_t{1});
  });
  EXPECT_THROW(write_atomically(path,
                                [](const std::string& tmp) {
                                  H5File f(tmp, H5File::Mode::Truncate);
                                  f.set_attr("/", "version", int64_t{2});
                                  throw Error("simulated failure mid-write");
                                }),
               Error);
  H5File f(path, H5File::Mode::Read);
  EXPECT_EQ(f.attr_int("/", "version"), 1);
  // No temporary left behind (it is named ".atomic.h5.tmp-PID" beside the target).
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    leftovers += e.path().filename().string().rfind(".atomic.h5.tmp", 0) == 0;
  EXPECT_EQ(leftovers, 0);
}

// A dataset whose declared shape the file cannot hold (a chunked dataset of 2^40 bytes never written: a 2 KB file)
// is refused naming the file and dataset before anything is allocated, by every reader; an honest one reads.
TEST(H5, ADeclaredSizeTheFileCannotHoldIsRefusedBeforeAllocating) {
  const auto path = temp_path("forged.h5");
  {
    H5File f(path, H5File::Mode::Truncate);
    f.write("honest", at::arange(1000, at::kFloat));
  }
  {  // the forgery, through the C library: what any HDF5 writer can produce
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t dims[1] = {hsize_t{1} << 40}, chunk[1] = {1024};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(plist, 1, chunk);
    const hid_t d = H5Dcreate2(file, "images", H5T_NATIVE_UINT8, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    H5Dclose(d), H5Sclose(space);
    // Honest files that hold less than they declare: a chunked dataset of 1 MiB never written (it reads as its fill
    // value), and an attribute of 300 int32 (charged at its own 4 bytes each).
    const hsize_t sparse_dims[1] = {hsize_t{1} << 20};
    const hid_t sparse_space = H5Screate_simple(1, sparse_dims, nullptr);
    H5Dclose(H5Dcreate2(file, "sparse", H5T_NATIVE_UINT8, sparse_space, H5P_DEFAULT, plist, H5P_DEFAULT));
    const hsize_t n[1] = {300};
    const hid_t attr_space = H5Screate_simple(1, n, nullptr);
    const hid_t a = H5Acreate2(file, "counts", H5T_STD_I32LE, attr_space, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<int32_t> counts(300, 7);
    H5Awrite(a, H5T_NATIVE_INT32, counts.data());
    H5Aclose(a), H5Sclose(attr_space), H5Sclose(sparse_space), H5Pclose(plist), H5Fclose(file);
  }
  ASSERT_LT(std::filesystem::file_size(path), 100000u);
  const H5File f(path, H5File::Mode::Read);
  EXPECT_EQ(f.read("honest").numel(), 1000);
  EXPECT_EQ(f.read("sparse").sum().item<int64_t>(), 0);
  EXPECT_EQ(f.attr_ints("/", "counts"), std::vector<int64_t>(300, 7));
  const std::string want = path + ": 'images': declares 1099511627776 elements (1099511627776 bytes), more than a ";
  for (const auto& read : std::vector<std::function<void()>>{[&] { f.read("images"); },
                                                             [&] { f.read_rows("images", 0, 4); }}) {
    std::string error;
    try {
      read();
    } catch (const Error& e) {
      error = e.what();
    }
    EXPECT_EQ(error.rfind(want, 0), 0u) << error;
  }
}

// A writer killed mid-write (SIGKILL: no handler runs) leaves its temporary; the sweep a resuming run does removes it,
// and leaves a live writer's, another machine's, and every other file.
TEST(AtomicFile, TheTemporaryOfAKilledWriterIsSweptAndALiveOnesIsNot) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(temp_path("sweep")) / "run";
  fs::create_directories(dir);
  const std::string target = (dir / "ckpt-00000004.h5").string();
  const pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {  // the child: starts the write, then hangs inside it until killed
    write_atomically(target, [](const std::string& tmp) {
      std::ofstream(tmp) << "half a checkpoint";
      for (;;) ::pause();
    });
    ::_exit(0);
  }
  const fs::path orphan = dir / temporary_name("ckpt-00000004.h5");  // this process's name for it...
  const std::string theirs = orphan.string().substr(0, orphan.string().rfind('-') + 1) + std::to_string(writer);
  for (int i = 0; i < 500 && !fs::exists(theirs); ++i) ::usleep(10000);
  ASSERT_TRUE(fs::exists(theirs)) << "the writer never started";
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  ASSERT_TRUE(fs::exists(theirs)) << "a killed writer leaves its temporary";
  std::ofstream(orphan.string()) << "a live writer's (this process)";
  std::ofstream((dir / ".ckpt-00000008.h5.tmp-another-machine-1").string()) << "another machine's";
  std::ofstream((dir / "metrics.jsonl").string()) << "{}";
  const auto removed = sweep_dead_temporaries(dir.string());
  EXPECT_EQ(removed, (std::vector<std::string>{theirs}));
  EXPECT_FALSE(fs::exists(theirs));
  EXPECT_TRUE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(dir / ".ckpt-00000008.h5.tmp-another-machine-1"));
  EXPECT_TRUE(fs::exists(dir / "metrics.jsonl"));
  EXPECT_FALSE(fs::exists(target));
}


// A reader rehearses in a forked child (datasets/h5_check.h): a child that crashes or loops refuses the file in one
// line naming it, and this process goes on; a finished rehearsal is not repeated for the same reader and file.
TEST(Rehearsal, ACrashOrALoopInTheChildRefusesTheFileAndThisProcessGoesOn) {
  const test::TempDir dir;
  const auto path = dir.file("f.h5");
  std::ofstream(path) << "x";
  std::string msg = test::error_of([&] { rehearse_in_child(path, "crash", [] { ::raise(SIGSEGV); }); });
  EXPECT_NE(msg.find(path + ": corrupt HDF5 file: the HDF5 library crashed ("), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  ::setenv("TAL_HDF5_CHECK_SECONDS", "0.3", 1);
  msg = test::error_of([&] { rehearse_in_child(path, "loop", [] { for (volatile int i = 0;; i = i + 1) {} }); });
  ::unsetenv("TAL_HDF5_CHECK_SECONDS");
  EXPECT_NE(msg.find(path + ": reading it did not finish in 0 s, twice"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("corrupt"), std::string::npos) << msg;  // a slow filesystem looks the same: no blame
  // A preemption's TERM sent to the whole job is the parent's to act on: the child ignores it and finishes.
  EXPECT_NO_THROW(rehearse_in_child(path, "term", [] { ::raise(SIGTERM); }));
  // A child killed by something else (not a crash) says so, and blames no file.
  msg = test::error_of([&] { rehearse_in_child(path, "killed", [] { ::raise(SIGKILL); }); });
  EXPECT_NE(msg.find("was interrupted"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("corrupt"), std::string::npos) << msg;
  // Exceptions in the child are the real read's to throw: the rehearsal passes, once, then is remembered.
  int here = 0;
  rehearse_in_child(path, "fine", [&] { ++here; throw Error("not this one"); });
  EXPECT_EQ(here, 0);  // it ran in the child, not here
  EXPECT_NO_THROW(rehearse_in_child(path, "fine", [] { ::raise(SIGSEGV); }));  // remembered: not run again
  std::ofstream(path, std::ios::app) << "y";  // the file changed: rehearsed again
  EXPECT_THROW(rehearse_in_child(path, "fine", [] { ::raise(SIGSEGV); }), Error);
  // What this process just wrote whole is its own output: not rehearsed until it changes.
  const auto own = dir.file("own.h5");
  write_atomically(own, [](const std::string& tmp) { std::ofstream(tmp) << "z"; });
  EXPECT_NO_THROW(rehearse_in_child(own, "crash", [] { ::raise(SIGSEGV); }));
  std::ofstream(own, std::ios::app) << "y";
  EXPECT_THROW(rehearse_in_child(own, "crash", [] { ::raise(SIGSEGV); }), Error);
}

}  // namespace
}  // namespace tal

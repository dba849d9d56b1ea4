#include "postern/mime/body_spool.hpp"

#include "postern/mime/part.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace postern::mime {
namespace {

namespace fs = std::filesystem;

// A private directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "spool-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct OpenFile {
  std::string target;  // what /proc/self/fd/N points to
  struct stat status {};
};

// Files this process has open whose path lies in dir, found through
// /proc/self/fd: the only way to see a file that no longer has a name.
std::vector<OpenFile> open_files_in(const std::string& dir) {
  std::vector<OpenFile> found;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(entry.path(), ec).string();
    if (ec || target.rfind(dir + "/", 0) != 0) {
      continue;
    }
    OpenFile file{target, {}};
    if (::stat(entry.path().c_str(), &file.status) == 0) {
      found.push_back(file);
    }
  }
  return found;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>(i * 7 + i / 251);
  }
  return s;
}

TEST(BodySpool, StaysInMemoryUpToTheLimit) {
  TempDir dir;
  BodySpool spool({1024, dir.path()});
  std::string data = pattern(1024);
  spool.append(data.substr(0, 1000));
  spool.append(data.substr(1000));
  EXPECT_FALSE(spool.on_disk());
  EXPECT_EQ(spool.size(), 1024U);
  EXPECT_EQ(spool.read_all(), data);
  EXPECT_EQ(spool.view().bytes(), data);
  EXPECT_TRUE(open_files_in(dir.path()).empty());
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(BodySpool, CrossingTheLimitMovesToAPrivateUnlinkedFile) {
  TempDir dir;
  BodySpool spool({1024, dir.path()});
  std::string data = pattern(5000);
  spool.append(data.substr(0, 1000));
  EXPECT_FALSE(spool.on_disk());
  spool.append(data.substr(1000, 100));
  ASSERT_TRUE(spool.on_disk());
  spool.append(data.substr(1100));
  EXPECT_EQ(spool.size(), data.size());

  EXPECT_TRUE(fs::is_empty(dir.path())) << "spool file still has a name";
  auto files = open_files_in(dir.path());
  ASSERT_EQ(files.size(), 1U);
  EXPECT_EQ(files[0].status.st_mode & 07777, 0600U);
  EXPECT_EQ(files[0].status.st_nlink, 0U);
  EXPECT_NE(files[0].target.find("(deleted)"), std::string::npos) << files[0].target;

  EXPECT_EQ(spool.read_all(), data);
  BodySpool::View view = spool.view();
  EXPECT_EQ(view.bytes(), data);
}

TEST(BodySpool, FileIsClosedWithTheSpool) {
  TempDir dir;
  {
    BodySpool spool({0, dir.path()});
    spool.append("x");
    ASSERT_TRUE(spool.on_disk());
    EXPECT_EQ(open_files_in(dir.path()).size(), 1U);
  }
  EXPECT_TRUE(open_files_in(dir.path()).empty());
}

TEST(BodySpool, ReadsAtAnyOffset) {
  for (std::size_t limit : {std::size_t{1} << 20, std::size_t{10}}) {
    TempDir dir;
    BodySpool spool({limit, dir.path()});
    std::string data = pattern(3000);
    spool.append(data);
    SCOPED_TRACE(spool.on_disk() ? "disk" : "memory");
    std::string buffer(1000, '\0');
    EXPECT_EQ(spool.read(0, buffer), 1000U);
    EXPECT_EQ(buffer, data.substr(0, 1000));
    EXPECT_EQ(spool.read(2500, buffer), 500U);
    EXPECT_EQ(buffer.substr(0, 500), data.substr(2500));
    EXPECT_EQ(spool.read(3000, buffer), 0U);
    EXPECT_EQ(spool.read(999999, buffer), 0U);
    // Sequential reading in chunks rebuilds the whole.
    std::string rebuilt;
    std::size_t n = 0;
    while ((n = spool.read(rebuilt.size(), buffer)) > 0) {
      rebuilt.append(buffer, 0, n);
    }
    EXPECT_EQ(rebuilt, data);
  }
}

TEST(BodySpool, LargeBodyInChunksWithDefaultLimit) {
  TempDir dir;
  SpoolOptions options;
  options.directory = dir.path();
  BodySpool spool(options);
  std::string chunk = pattern(65536);
  for (int i = 0; i < 48; ++i) {  // 3 MiB, as libmilter hands bodies over
    spool.append(chunk);
    EXPECT_EQ(spool.on_disk(), spool.size() > (std::size_t{1} << 20)) << i;
  }
  EXPECT_EQ(spool.size(), 48U * 65536U);
  BodySpool::View view = spool.view();
  ASSERT_EQ(view.bytes().size(), spool.size());
  EXPECT_EQ(view.bytes().substr(47 * 65536), chunk);
}

TEST(BodySpool, ViewOutlivesLaterAppendsOnDisk) {
  TempDir dir;
  BodySpool spool({0, dir.path()});
  spool.append("first");
  BodySpool::View view = spool.view();
  spool.append("second");
  EXPECT_EQ(view.bytes(), "first");
  BodySpool::View moved = std::move(view);
  EXPECT_EQ(moved.bytes(), "first");
  EXPECT_TRUE(view.bytes().empty());  // NOLINT(bugprone-use-after-move): checks the moved-from state
  EXPECT_EQ(spool.view().bytes(), "firstsecond");
}

TEST(BodySpool, SpooledMessageParsesFromTheMapping) {
  TempDir dir;
  BodySpool spool({16, dir.path()});
  spool.append("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
  spool.append("--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n");
  ASSERT_TRUE(spool.on_disk());
  BodySpool::View view = spool.view();
  Part root = parse_message(view.bytes());
  ASSERT_EQ(root.children.size(), 2U);
  EXPECT_EQ(root.children[1].body.of(view.bytes()), "two");
}

TEST(BodySpool, EmptySpool) {
  BodySpool spool;
  EXPECT_EQ(spool.size(), 0U);
  EXPECT_FALSE(spool.on_disk());
  EXPECT_EQ(spool.read_all(), "");
  EXPECT_TRUE(spool.view().bytes().empty());
}

TEST(BodySpool, UsesTmpdirByDefault) {
  TempDir dir;
  const char* old = std::getenv("TMPDIR");
  std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", dir.path().c_str(), 1);
  BodySpool spool({0, ""});
  if (old != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  spool.append("x");
  EXPECT_EQ(open_files_in(dir.path()).size(), 1U);
}

TEST(BodySpool, UnusableDirectoryIsAClearError) {
  BodySpool spool({4, "/nonexistent/postern-spool-dir"});
  spool.append("abcd");
  try {
    spool.append("e");
    FAIL() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/postern-spool-dir"), std::string::npos) << e.what();
  }
  // The failed append changed nothing.
  EXPECT_EQ(spool.size(), 4U);
  EXPECT_FALSE(spool.on_disk());
  EXPECT_EQ(spool.read_all(), "abcd");
}

}  // namespace
}  // namespace postern::mime

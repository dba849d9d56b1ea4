#include "postern/mime/body_spool.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

namespace postern::mime {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// pwrite at an explicit offset: a failed append leaves size() and the data
// before it as they were, and the next append simply overwrites the rest.
void write_at(const core::Fd& fd, std::size_t offset, std::string_view bytes, const std::string& directory) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot write spool file in " + directory);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::size_t>(n);
  }
}

}  // namespace

BodySpool::View::View(View&& other) noexcept
    : bytes_(std::exchange(other.bytes_, {})), mapping_(std::exchange(other.mapping_, nullptr)) {}

BodySpool::View& BodySpool::View::operator=(View&& other) noexcept {
  if (this != &other) {
    unmap();
    bytes_ = std::exchange(other.bytes_, {});
    mapping_ = std::exchange(other.mapping_, nullptr);
  }
  return *this;
}

BodySpool::View::~View() { unmap(); }

void BodySpool::View::unmap() noexcept {
  if (mapping_ != nullptr) {
    ::munmap(mapping_, bytes_.size());
    mapping_ = nullptr;
  }
}

BodySpool::BodySpool(SpoolOptions options) : options_(std::move(options)) {
  if (options_.directory.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    options_.directory = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
}

void BodySpool::append(std::string_view chunk) {
  if (!on_disk() && size_ + chunk.size() > options_.memory_limit) {
    move_to_file();
  }
  if (on_disk()) {
    write_at(file_, size_, chunk, options_.directory);
  } else {
    memory_ += chunk;
  }
  size_ += chunk.size();
}

void BodySpool::move_to_file() {
  std::string path = options_.directory + "/postern-spool-XXXXXX";
  // mkostemp creates the file with mode 0600 whatever the umask.
  core::Fd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd.valid()) {
    throw_errno("cannot create a spool file in " + options_.directory);
  }
  if (::unlink(path.c_str()) != 0) {
    throw_errno("cannot unlink spool file " + path);
  }
  write_at(fd, 0, memory_, options_.directory);
  file_ = std::move(fd);
  std::string().swap(memory_);  // give the memory back now, not at destruction
}

std::size_t BodySpool::read(std::size_t offset, std::span<char> out) const {
  if (offset >= size_) {
    return 0;
  }
  std::size_t wanted = std::min(out.size(), size_ - offset);
  if (!on_disk()) {
    std::memcpy(out.data(), memory_.data() + offset, wanted);
    return wanted;
  }
  std::size_t done = 0;
  while (done < wanted) {
    ssize_t n = ::pread(file_.get(), out.data() + done, wanted - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      errno = EIO;  // the file is shorter than what we wrote to it
    }
    if (n <= 0) {
      throw_errno("cannot read spool file in " + options_.directory);
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::string BodySpool::read_all() const {
  std::string out(size_, '\0');
  read(0, out);
  return out;
}

BodySpool::View BodySpool::view() const {
  if (!on_disk()) {
    return View(memory_, nullptr);
  }
  if (size_ == 0) {
    return View({}, nullptr);
  }
  // MAP_POPULATE: the caller reads it all, and one populating call costs
  // far less than a page fault for every few pages.
  void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file_.get(), 0);
  if (mapping == MAP_FAILED) {
    throw_errno("cannot map spool file in " + options_.directory);
  }
  return View(std::string_view(static_cast<const char*>(mapping), size_), mapping);
}

}  // namespace postern::mime

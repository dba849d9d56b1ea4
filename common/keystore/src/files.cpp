#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "postern/core/strings.hpp"

namespace postern::keystore::files {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

std::optional<Owner> owner_for(const fs::path& root) {
  if (::geteuid() != 0) return std::nullopt;
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return std::nullopt;
  return Owner{st.st_uid, st.st_gid};
}

void atomic_write(const fs::path& path, std::string_view bytes, mode_t mode, const std::optional<Owner>& owner) {
  std::string tmp = (path.parent_path() / ".tmp-XXXXXX").string();
  const int fd = ::mkstemp(tmp.data());  // created 0600
  if (fd < 0) throw KeyStoreError("cannot create a file in " + path.parent_path().string() + ": " + errno_text(errno));
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw KeyStoreError(std::string("cannot ") + what + " " + path.string() + ": " + errno_text(e));
  };
  if (::fchmod(fd, mode) != 0) fail("set the mode of");
  if (owner && ::fchown(fd, owner->uid, owner->gid) != 0) fail("set the owner of");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("sync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw KeyStoreError("cannot write " + path.string() + ": " + errno_text(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw KeyStoreError("cannot rename into " + path.string() + ": " + errno_text(e));
  }
  if (const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void ensure_dir(const fs::path& dir, mode_t mode, const std::optional<Owner>& owner) {
  if (::mkdir(dir.c_str(), mode) == 0) {
    ::chmod(dir.c_str(), mode);  // the umask may have taken bits away
    if (owner && ::chown(dir.c_str(), owner->uid, owner->gid) != 0) {
      throw KeyStoreError("cannot set the owner of " + dir.string() + ": " + errno_text(errno));
    }
    return;
  }
  if (errno == EEXIST && fs::is_directory(dir)) return;
  if (errno == ENOENT) {
    ensure_dir(dir.parent_path(), 0755, owner);
    ensure_dir(dir, mode, owner);
    return;
  }
  throw KeyStoreError("cannot create " + dir.string() + ": " + errno_text(errno));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (!in || !(bytes << in.rdbuf())) {
    throw KeyStoreError("cannot read " + path.string() + ": " + errno_text(errno));
  }
  return bytes.str();
}

std::string insecure_mode(const fs::path& path, bool directory) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw KeyStoreError("cannot stat " + path.string() + ": " + errno_text(errno));
  if ((st.st_mode & 077) == 0) return {};
  return path.string() + " is mode " + octal(st.st_mode) + ": group or others may read it; chmod " +
         (directory ? "700" : "600") + " it";
}

std::vector<fs::path> pem_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.empty() || name.front() == '.' || it->path().extension() != ".pem") continue;
    out.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw KeyStoreError("cannot read the directory " + dir.string() + ": " + ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string stamp(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mode);
}

bool recently_changed(const fs::path& dir, std::time_t now) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return false;
  return st.st_mtim.tv_sec + 2 >= now;
}

std::string format_provenance(const Provenance& p) {
  auto clean = [](std::string_view s) { return core::escape_controls(s); };
  std::string out = "how: " + clean(p.how) + "\nsource: " + clean(p.source) + "\nadded: " + clean(p.added) + "\n";
  if (!p.capabilities.empty()) {
    std::string caps;
    for (const auto& c : p.capabilities) caps += (caps.empty() ? "" : ",") + clean(c);
    out += "capabilities: " + caps + "\n";
  }
  return out;
}

std::optional<Provenance> parse_provenance(std::string_view text) {
  Provenance p;
  bool any = false;
  for (auto line : core::split(text, '\n')) {
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    const auto key = line.substr(0, colon);
    const std::string value(line.substr(colon + 2));
    if (key == "how")
      p.how = value, any = true;
    else if (key == "source")
      p.source = value, any = true;
    else if (key == "added")
      p.added = value, any = true;
    else if (key == "capabilities") {
      for (auto c : core::split(value, ',')) {
        const std::string name(core::trim(c));
        if (!name.empty()) p.capabilities.push_back(name);
      }
    }
  }
  if (!any) return std::nullopt;
  return p;
}

}  // namespace postern::keystore::files

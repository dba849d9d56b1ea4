// NAME
//   body_spool - a message body in memory, or in a private file once large
// SUMMARY
//   BodySpool spool;                       // 1 MiB in memory, then $TMPDIR
//   spool.append(header_block);            // headers first, so that the
//   for (chunk : body_chunks) spool.append(chunk);   // view is the message
//   BodySpool::View view = spool.view();   // mmap'ed when on disk
//   Part root = parse_message(view.bytes());
// DESCRIPTION
//   Bodies up to memory_limit bytes stay in memory; the append that would
//   go past it moves everything to a temporary file, so a milter's memory
//   stays bounded however large the mail. The file is made with mkostemp
//   (mode 0600, close-on-exec) in the configured directory and unlinked at
//   once: no other user can open it, and it vanishes with the process even
//   on a crash. Reading back: read() at any offset, read_all(), or view(),
//   which maps the file read-only instead of copying it to the heap.
// THREADS
//   One spool belongs to one message; not for concurrent use.
// DIAGNOSTICS
//   std::system_error (with the errno and the directory) when the file
//   cannot be created, written, read or mapped. A failed append() leaves
//   the spool as it was before it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "postern/core/fd.hpp"

namespace postern::mime {

struct SpoolOptions {
  std::size_t memory_limit = std::size_t{1} << 20;
  std::string directory;  // "" means $TMPDIR, else /tmp
};

class BodySpool {
 public:
  // The whole content at the time view() was called. Valid until the next
  // append() to the spool or the spool's destruction, whichever is first.
  class View {
   public:
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    View(View&& other) noexcept;
    View& operator=(View&& other) noexcept;
    ~View();

    std::string_view bytes() const noexcept { return bytes_; }

   private:
    friend class BodySpool;
    View(std::string_view bytes, void* mapping) noexcept : bytes_(bytes), mapping_(mapping) {}
    void unmap() noexcept;

    std::string_view bytes_;
    void* mapping_ = nullptr;  // non-null when bytes_ is an mmap of the file
  };

  explicit BodySpool(SpoolOptions options = {});

  void append(std::string_view chunk);
  std::size_t size() const noexcept { return size_; }
  bool on_disk() const noexcept { return file_.valid(); }

  // Copies up to out.size() bytes starting at offset; returns how many
  // (0 at or past the end).
  std::size_t read(std::size_t offset, std::span<char> out) const;
  std::string read_all() const;
  View view() const;

 private:
  void move_to_file();

  SpoolOptions options_;
  std::string memory_;
  core::Fd file_;
  std::size_t size_ = 0;
};

}  // namespace postern::mime

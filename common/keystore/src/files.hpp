// NAME
//   files - the key store's file handling: atomic writes, modes, sidecars
// DESCRIPTION
//   Internal to postern_keystore. Every write goes to a temporary file in
//   the target directory (".tmp-XXXXXX", never read by a scan), is synced
//   and renamed over the target. When the process runs as root, new files
//   and directories are given to the owner of the store's root, so
//   `posternctl keys import` run as root leaves files the service user can
//   read. Private files are checked to be unreadable by group and others.
// THREADS
//   Reentrant.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/keystore/key_store.hpp"

namespace postern::keystore::files {

namespace fs = std::filesystem;

struct Owner {
  uid_t uid;
  gid_t gid;
};

// The owner new files should get: the root's owner when running as root.
std::optional<Owner> owner_for(const fs::path& root);

// Writes `bytes` to `path` atomically with `mode`. Throws KeyStoreError.
void atomic_write(const fs::path& path, std::string_view bytes, mode_t mode, const std::optional<Owner>& owner);
// Creates `dir` (and parents) with `mode` when missing. Throws KeyStoreError.
void ensure_dir(const fs::path& dir, mode_t mode, const std::optional<Owner>& owner);
// The whole file; throws KeyStoreError naming the file.
std::string read_file(const fs::path& path);
// "" when group and others cannot read `path`, otherwise the reason with
// the chmod that fixes it. Throws KeyStoreError when `path` cannot be stat'ed.
std::string insecure_mode(const fs::path& path, bool directory);
// The *.pem files of a directory (not temporaries), sorted; none when it is missing.
std::vector<fs::path> pem_files(const fs::path& dir);
// A stamp of the directory's state; changes when a file is added,
// renamed or removed. "missing" when it does not exist.
std::string stamp(const fs::path& dir);
// Whether the directory changed within the last two seconds (a stamp
// taken now might not see a change made in the same clock tick).
bool recently_changed(const fs::path& dir, std::time_t now);

std::string format_provenance(const Provenance& p);
std::optional<Provenance> parse_provenance(std::string_view text);

}  // namespace postern::keystore::files

// What an attachment's bytes are (magic numbers), and whether its declared
// Content-Type or file extension says something else.
#include <array>
#include <vector>
#include <string_view>

#include "postern/core/strings.hpp"
#include "postern/policy/facts.hpp"

namespace postern::policy {
namespace {

using namespace std::string_view_literals;

struct Kind {
  std::string_view name;
  std::vector<std::string_view> types;       // Content-Types that claim it
  std::vector<std::string_view> extensions;  // lowercase, without the dot
};

// The order is the docs order. A type ending in '*' is a prefix.
const std::array<Kind, 15>& kinds() {
  static const std::array<Kind, 15> table = {{
      {"pdf", {"application/pdf", "application/x-pdf"}, {"pdf"}},
      {"ooxml",
       {"application/vnd.openxmlformats-officedocument.*", "application/vnd.ms-word.*", "application/vnd.ms-excel.*",
        "application/vnd.ms-powerpoint.*"},
       {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm", "potx", "ppsx", "vsdx"}},
      {"zip",
       {"application/zip", "application/x-zip", "application/x-zip-compressed", "application/java-archive",
        "application/vnd.oasis.opendocument.*", "application/epub+zip", "application/vnd.android.package-archive"},
       {"zip", "jar", "odt", "ods", "odp", "odg", "epub", "apk", "kmz"}},
      {"ole2",
       {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/vnd.ms-outlook",
        "application/x-msi", "application/x-ole-storage", "application/vnd.visio"},
       {"doc", "dot", "xls", "xlt", "ppt", "pps", "pot", "msg", "msi", "vsd"}},
      {"exe",
       {"application/x-msdownload", "application/x-dosexec", "application/vnd.microsoft.portable-executable",
        "application/x-msdos-program", "application/x-exe", "application/exe"},
       {"exe", "dll", "scr", "com", "sys", "cpl", "ocx", "efi", "drv"}},
      {"elf", {"application/x-executable", "application/x-elf", "application/x-sharedlib", "application/x-pie-executable"},
       {"elf", "so", "o"}},
      {"png", {"image/png", "image/x-png"}, {"png"}},
      {"jpeg", {"image/jpeg", "image/pjpeg", "image/jpg"}, {"jpg", "jpeg", "jpe", "jfif"}},
      {"gif", {"image/gif"}, {"gif"}},
      {"rar", {"application/vnd.rar", "application/x-rar-compressed", "application/x-rar"}, {"rar"}},
      {"7z", {"application/x-7z-compressed"}, {"7z"}},
      {"gzip", {"application/gzip", "application/x-gzip", "application/x-gtar"}, {"gz", "tgz"}},
      {"bzip2", {"application/x-bzip2", "application/x-bzip"}, {"bz2", "tbz2", "tbz"}},
      {"xz", {"application/x-xz"}, {"xz", "txz"}},
      {"rtf", {"application/rtf", "text/rtf"}, {"rtf"}},
  }};
  return table;
}

// cab is sniffed, but nothing claims it (mail programs send it as
// application/octet-stream).
constexpr std::string_view kCab = "cab";

bool starts(std::string_view bytes, std::string_view magic) noexcept { return bytes.substr(0, magic.size()) == magic; }

bool type_claims(const Kind& k, std::string_view type) {
  for (std::string_view t : k.types) {
    if (t.back() == '*' ? core::istarts_with(type, t.substr(0, t.size() - 1)) : core::iequals(type, t)) return true;
  }
  return false;
}

bool extension_claims(const Kind& k, std::string_view ext) {
  for (std::string_view e : k.extensions) {
    if (core::iequals(ext, e)) return true;
  }
  return false;
}

// zip and ooxml are one family: a docx is a zip, and sent as one it is
// not a lie.
bool compatible(std::string_view sniffed, std::string_view claimed) {
  if (sniffed == claimed) return true;
  const bool a = sniffed == "zip" || sniffed == "ooxml";
  const bool b = claimed == "zip" || claimed == "ooxml";
  return a && b;
}

std::string_view claimed_by_type(std::string_view type) {
  for (const Kind& k : kinds()) {
    if (type_claims(k, type)) return k.name;
  }
  return {};
}

std::string_view claimed_by_extension(std::string_view ext) {
  for (const Kind& k : kinds()) {
    if (extension_claims(k, ext)) return k.name;
  }
  return {};
}

std::string_view extension_of(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return {};
  const auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos && slash > dot) return {};
  return name.substr(dot + 1);
}

}  // namespace

const std::vector<std::string_view>& sniffed_type_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const Kind& k : kinds()) out.push_back(k.name);
    out.push_back(kCab);
    return out;
  }();
  return names;
}

std::string_view sniff_type(std::string_view b) noexcept {
  if (starts(b, "PK\x03\x04"sv) || starts(b, "PK\x05\x06"sv)) {
    // The central directory at the end names every entry.
    return b.find("[Content_Types].xml") != std::string_view::npos ? "ooxml" : "zip";
  }
  if (starts(b, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv)) return "ole2";
  if (starts(b, "MZ"sv) && b.size() >= 64) return "exe";
  if (starts(b, "\x7F" "ELF"sv)) return "elf";
  if (starts(b, "\x89PNG\r\n\x1A\n"sv)) return "png";
  if (starts(b, "\xFF\xD8\xFF"sv)) return "jpeg";
  if (starts(b, "GIF87a"sv) || starts(b, "GIF89a"sv)) return "gif";
  if (starts(b, "Rar!\x1A\x07\x00"sv) || starts(b, "Rar!\x1A\x07\x01\x00"sv)) return "rar";
  if (starts(b, "7z\xBC\xAF\x27\x1C"sv)) return "7z";
  if (starts(b, "\x1F\x8B"sv)) return "gzip";
  if (b.size() >= 4 && starts(b, "BZh"sv) && b[3] >= '1' && b[3] <= '9') return "bzip2";
  if (starts(b, "\xFD" "7zXZ\x00"sv)) return "xz";
  if (starts(b, "{\\rtf"sv)) return "rtf";
  if (starts(b, "MSCF\x00\x00\x00\x00"sv)) return "cab";
  // PDF readers accept the header anywhere in the first KiB.
  if (b.substr(0, 1024).find("%PDF-") != std::string_view::npos) return "pdf";
  return {};
}

bool type_mismatch(const Attachment& a) {
  const std::string_view sniffed = a.sniffed_type;
  const std::string_view ext = extension_of(a.name);
  const bool generic_type = a.declared_type.empty() || a.declared_type == "application/octet-stream";
  if (sniffed.empty()) {
    // Unknown bytes: a lie only when a claim names a kind we would know.
    const std::string_view by_type = generic_type ? std::string_view() : claimed_by_type(a.declared_type);
    const std::string_view by_ext = ext.empty() ? std::string_view() : claimed_by_extension(ext);
    return !by_type.empty() || !by_ext.empty();
  }
  if (!generic_type) {
    const std::string_view by_type = claimed_by_type(a.declared_type);
    if (by_type.empty() || !compatible(sniffed, by_type)) return true;
  }
  if (!ext.empty()) {
    const std::string_view by_ext = claimed_by_extension(ext);
    if (by_ext.empty() || !compatible(sniffed, by_ext)) return true;
  }
  return false;
}

}  // namespace postern::policy

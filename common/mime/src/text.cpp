#include "text.hpp"

#include <iconv.h>

#include <cerrno>
#include <utility>

#include "postern/core/c_unique.hpp"
#include "postern/core/strings.hpp"

namespace postern::mime::detail {

namespace {

using Iconv = core::CUnique<void, &iconv_close>;

// Charset names as senders write them, and the iconv name each one means.
// gb2312 and ks_c_5601-1987 map to their supersets, as mail clients do.
constexpr std::pair<std::string_view, std::string_view> kCharsets[] = {
    {"iso-8859-1", "ISO-8859-1"},     {"iso-8859-2", "ISO-8859-2"},      {"iso-8859-3", "ISO-8859-3"},
    {"iso-8859-4", "ISO-8859-4"},     {"iso-8859-5", "ISO-8859-5"},      {"iso-8859-6", "ISO-8859-6"},
    {"iso-8859-7", "ISO-8859-7"},     {"iso-8859-8", "ISO-8859-8"},      {"iso-8859-8-i", "ISO-8859-8"},
    {"iso-8859-9", "ISO-8859-9"},     {"iso-8859-10", "ISO-8859-10"},    {"iso-8859-11", "ISO-8859-11"},
    {"iso-8859-13", "ISO-8859-13"},   {"iso-8859-14", "ISO-8859-14"},    {"iso-8859-15", "ISO-8859-15"},
    {"iso-8859-16", "ISO-8859-16"},   {"latin1", "ISO-8859-1"},          {"windows-1250", "WINDOWS-1250"},
    {"windows-1251", "WINDOWS-1251"}, {"windows-1252", "WINDOWS-1252"},  {"windows-1253", "WINDOWS-1253"},
    {"windows-1254", "WINDOWS-1254"}, {"windows-1255", "WINDOWS-1255"},  {"windows-1256", "WINDOWS-1256"},
    {"windows-1257", "WINDOWS-1257"}, {"windows-1258", "WINDOWS-1258"},  {"cp1252", "WINDOWS-1252"},
    {"koi8-r", "KOI8-R"},             {"koi8-u", "KOI8-U"},              {"gb2312", "GBK"},
    {"gbk", "GBK"},                   {"gb18030", "GB18030"},            {"big5", "BIG5"},
    {"shift_jis", "SHIFT_JIS"},       {"euc-jp", "EUC-JP"},              {"iso-2022-jp", "ISO-2022-JP"},
    {"euc-kr", "EUC-KR"},             {"ks_c_5601-1987", "CP949"},       {"tis-620", "TIS-620"},
    {"utf-16", "UTF-16"},
};

std::optional<std::string> iconv_to_utf8(const char* from, std::string_view bytes) {
  iconv_t raw = iconv_open("UTF-8", from);
  if (raw == reinterpret_cast<iconv_t>(-1)) {
    return std::nullopt;
  }
  Iconv cd(raw);
  std::string out(bytes.size() + 16, '\0');  // grown on E2BIG: most text is mostly ASCII
  // iconv's interface takes char** for input it never writes.
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  std::size_t done = 0;
  bool flushing = false;
  while (true) {
    char* out_ptr = out.data() + done;
    std::size_t out_left = out.size() - done;
    std::size_t rc = flushing ? iconv(cd.get(), nullptr, nullptr, &out_ptr, &out_left)
                              : iconv(cd.get(), &in, &in_left, &out_ptr, &out_left);
    done = out.size() - out_left;
    if (rc != static_cast<std::size_t>(-1)) {
      if (flushing) {
        break;
      }
      flushing = true;  // emit any shift sequence a stateful charset still owes
      continue;
    }
    if (errno != E2BIG) {
      return std::nullopt;  // EILSEQ or a truncated sequence (EINVAL)
    }
    out.resize(out.size() * 2);
  }
  out.resize(done);
  if (!is_valid_utf8(out)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  char lower = core::ascii_lower(c);
  if (lower >= 'a' && lower <= 'f') {
    return lower - 'a' + 10;
  }
  return -1;
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t pos) noexcept {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(pos);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      min_second = 0xA0;  // overlong
    } else if (lead == 0xED) {
      max_second = 0x9F;  // surrogates
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      min_second = 0x90;  // overlong
    } else if (lead == 0xF4) {
      max_second = 0x8F;  // above U+10FFFF
    }
  } else {
    return 0;
  }
  if (pos + length > s.size() || byte(pos + 1) < min_second || byte(pos + 1) > max_second) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) {
      return 0;
    }
  }
  return length;
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::optional<std::string> to_utf8(std::string_view charset, std::string_view bytes) {
  std::string name = core::ascii_lower(charset.substr(0, charset.find('*')));
  if (name == "utf-8" || name == "utf8") {
    return is_valid_utf8(bytes) ? std::optional<std::string>(bytes) : std::nullopt;
  }
  if (name == "us-ascii" || name == "ascii") {
    for (char c : bytes) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        return std::nullopt;
      }
    }
    return std::string(bytes);
  }
  for (const auto& [alias, iconv_name] : kCharsets) {
    if (name == alias) {
      return iconv_to_utf8(std::string(iconv_name).c_str(), bytes);
    }
  }
  return std::nullopt;
}

}  // namespace postern::mime::detail

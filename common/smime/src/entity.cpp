#include "entity.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "postern/core/strings.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/memory_bio.hpp"
#include "postern/smime/canonical.hpp"
#include "postern/smime/status.hpp"

namespace postern::smime::detail {

bool is_content_field(std::string_view name) noexcept { return core::istarts_with(name, "Content-"); }

Split split_message(std::string_view message) {
  mime::HeaderBlock block;
  try {
    block = mime::HeaderBlock::parse(message);
  } catch (const mime::LimitError& e) {
    throw Error(Failure::too_large, e.what());
  }
  if (block.end() == mime::HeaderBlock::End::not_a_field || block.fields().empty()) {
    throw Error(Failure::bad_input, "the message does not start with a header block");
  }
  Split split;
  for (const mime::Header& field : block.fields()) {
    (is_content_field(field.name) ? split.content : split.outer).push_back(field);
  }
  split.body = message.substr(block.consumed());
  return split;
}

void append_fields(std::string& out, const std::vector<mime::Header>& fields) {
  for (const mime::Header& field : fields) {
    out += to_crlf(field.name + field.before_colon + ":" + field.raw_value);
    out += "\r\n";
  }
}

std::string outer_fields(const std::vector<mime::Header>& outer) {
  std::string out;
  append_fields(out, outer);
  bool has_version = false;
  for (const mime::Header& field : outer) has_version = has_version || core::iequals(field.name, "MIME-Version");
  if (!has_version) out += "MIME-Version: 1.0\r\n";
  return out;
}

void append_cms_base64(std::string& out, CMS_ContentInfo* cms, BIO* in, int flags) {
  ossl::BioPtr b64 = ossl::base64_filter(ossl::string_sink(out, ossl::LineBreaks::crlf));
  const int ok = in != nullptr ? i2d_CMS_bio_stream(b64.get(), cms, in, flags) : i2d_CMS_bio(b64.get(), cms);
  if (ok != 1 || BIO_flush(b64.get()) != 1) throw Error(Failure::internal, ossl::Error("writing CMS").what());
}

std::string random_boundary() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw Error(Failure::internal, ossl::Error("RAND_bytes").what());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "----=_postern_";
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

}  // namespace postern::smime::detail

namespace postern::smime::detail {
namespace {

constexpr signed char kSkip = -2;
constexpr signed char kBad = -1;

constexpr std::array<signed char, 256> make_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = kBad;
  for (int i = 0; i < 26; ++i) {
    t[static_cast<std::size_t>('A' + i)] = static_cast<signed char>(i);
    t[static_cast<std::size_t>('a' + i)] = static_cast<signed char>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<std::size_t>('0' + i)] = static_cast<signed char>(52 + i);
  t['+'] = 62;
  t['/'] = 63;
  t[' '] = t['\t'] = t['\r'] = t['\n'] = kSkip;
  return t;
}

constexpr std::array<signed char, 256> kTable = make_table();

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  char* o = out.data();
  std::uint32_t accumulator = 0;
  int count = 0;  // data characters in the current quantum
  std::size_t data_chars = 0;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    const signed char v = kTable[static_cast<unsigned char>(c)];
    if (v >= 0) {
      accumulator = (accumulator << 6) | static_cast<std::uint32_t>(v);
      if (++count == 4) {
        *o++ = static_cast<char>(accumulator >> 16);
        *o++ = static_cast<char>(accumulator >> 8);
        *o++ = static_cast<char>(accumulator);
        count = 0;
        accumulator = 0;
      }
      ++data_chars;
      continue;
    }
    if (v == kSkip) continue;
    if (c == '=') break;
    return std::nullopt;
  }
  std::size_t padding = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      if (++padding > 2) return std::nullopt;
    } else if (kTable[static_cast<unsigned char>(c)] != kSkip) {
      return std::nullopt;  // data after padding
    }
  }
  const std::size_t remainder = data_chars % 4;
  if (remainder == 1 || (padding > 0 && (remainder == 0 || remainder + padding != 4))) return std::nullopt;
  if (count == 2) {
    *o++ = static_cast<char>(accumulator >> 4);
  } else if (count == 3) {
    *o++ = static_cast<char>(accumulator >> 10);
    *o++ = static_cast<char>(accumulator >> 2);
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  return out;
}

}  // namespace postern::smime::detail

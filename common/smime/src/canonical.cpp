#include "postern/smime/canonical.hpp"

#include <cstddef>

#include "postern/core/strings.hpp"
#include "postern/mime/transfer_encoding.hpp"

namespace postern::smime {
namespace {

constexpr std::size_t kMaxLine = 998;

// Appends `piece` with bare LFs turned into CRLF.
void append_crlf(std::string& out, std::string_view piece) {
  std::size_t from = 0;
  for (std::size_t i = piece.find('\n'); i != std::string_view::npos; i = piece.find('\n', i + 1)) {
    const bool has_cr = i > 0 ? piece[i - 1] == '\r' : (!out.empty() && out.back() == '\r');
    out.append(piece.substr(from, i - from));
    if (!has_cr) out.push_back('\r');
    out.push_back('\n');
    from = i + 1;
  }
  out.append(piece.substr(from));
}

bool is_identity(const std::string& encoding) {
  return encoding == "7bit" || encoding == "8bit" || encoding == "binary" || encoding.empty();
}

// True when the bytes survive any transport: 7-bit, no NUL, no bare CR,
// no line over 998 octets.
bool seven_bit_clean(std::string_view body) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c >= 0x80 || c == 0) return false;
    if (c == '\r') {
      if (i + 1 >= body.size() || body[i + 1] != '\n') return false;
      continue;
    }
    if (c == '\n') {
      line = 0;
      continue;
    }
    if (++line > kMaxLine) return false;
  }
  return true;
}

void append_fields_with_encoding(std::string& out, const std::vector<mime::Header>& fields,
                                 std::string_view encoding) {
  for (const mime::Header& field : fields) {
    if (core::iequals(field.name, "Content-Transfer-Encoding")) continue;
    append_crlf(out, field.serialize());
    if (field.eol.empty()) out += "\r\n";
  }
  out += "Content-Transfer-Encoding: ";
  out += encoding;
  out += "\r\n\r\n";
}

void append_header_block(std::string& out, const mime::Part& part, std::string_view message,
                         const std::vector<mime::Header>* fields) {
  if (fields == nullptr) {
    append_crlf(out, part.header.of(message));
    return;
  }
  for (const mime::Header& field : *fields) {
    append_crlf(out, field.name + field.before_colon + ":" + field.raw_value);
    out += "\r\n";
  }
  out += "\r\n";
}

// `fields`, when not null, replace the part's own header fields.
void emit(std::string& out, const mime::Part& part, std::string_view message,
          const std::vector<mime::Header>* fields = nullptr) {
  if (!part.children.empty()) {
    append_header_block(out, part, message, fields);
    std::size_t at = part.body.begin;
    for (const mime::Part& child : part.children) {
      append_crlf(out, message.substr(at, child.header.begin - at));
      emit(out, child, message);
      at = child.body.end;
    }
    append_crlf(out, message.substr(at, part.body.end - at));
    return;
  }
  const std::string_view body = part.body.of(message);
  // A multipart or message part left a leaf by broken MIME must not get a
  // transfer encoding (RFC 2046 §5): its bytes pass as they are.
  const bool composite = part.content_type.is("multipart") || part.content_type.is("message");
  if (composite || !is_identity(part.transfer_encoding) || seven_bit_clean(body)) {
    append_header_block(out, part, message, fields);
    append_crlf(out, body);
    return;
  }
  const std::vector<mime::Header>& own = fields != nullptr ? *fields : part.headers.fields();
  if (part.content_type.is("text")) {
    append_fields_with_encoding(out, own, "quoted-printable");
    out += encode_quoted_printable(to_crlf(body));
  } else {
    append_fields_with_encoding(out, own, "base64");
    out += mime::encode_base64(body, 76, "\r\n");
  }
}

}  // namespace

std::string to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  append_crlf(out, text);
  return out;
}

std::string encode_quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find("\r\n", begin);
    const bool last = end == std::string_view::npos;
    if (last) end = text.size();
    const std::string_view line = text.substr(begin, end - begin);
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool at_end = i + 1 == line.size();
      const bool from_line = i == 0 && line.substr(0, 5) == "From ";
      const bool literal = !from_line && ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end));
      const std::size_t width = literal ? 1 : 3;
      // Keep room for the soft break "=" within 76 columns.
      if (column + width > (at_end ? 76 : 75)) {
        out += "=\r\n";
        column = 0;
      }
      if (literal) {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('=');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0F]);
      }
      column += width;
    }
    if (last) break;
    out += "\r\n";
    begin = end + 2;
  }
  return out;
}

void append_canonical(std::string& out, std::string_view message, const std::vector<mime::Header>& root_fields,
                      const mime::MimeLimits& limits) {
  const mime::Part root = mime::parse_message(message, limits);
  emit(out, root, message, &root_fields);
}

std::string canonical_entity(std::string_view entity, const mime::MimeLimits& limits) {
  const mime::Part root = mime::parse_message(entity, limits);
  std::string out;
  out.reserve(entity.size() + entity.size() / 16 + 256);
  emit(out, root, entity);
  return out;
}

}  // namespace postern::smime

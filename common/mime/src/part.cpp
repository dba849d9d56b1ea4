#include "postern/mime/part.hpp"

#include <algorithm>

#include "postern/core/strings.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/mime/transfer_encoding.hpp"

namespace postern::mime {

namespace {

bool is_identity_encoding(std::string_view cte) { return cte == "7bit" || cte == "8bit" || cte == "binary"; }

std::string transfer_encoding_of(const HeaderBlock& headers) {
  const Header* field = headers.find("content-transfer-encoding");
  if (field == nullptr) {
    return "7bit";
  }
  std::string value = core::ascii_lower(core::trim(unfold(field->raw_value)));
  value.resize(std::min(value.size(), value.find_first_of(" \t;(")));
  return value.empty() ? "7bit" : value;
}

struct Delimiter {
  std::size_t line_begin = 0;  // where "--boundary" starts
  std::size_t next = 0;        // just past the delimiter line
  bool close = false;
};

class TreeParser {
 public:
  TreeParser(std::string_view message, const MimeLimits& limits) : message_(message), limits_(limits) {}

  Part parse(std::size_t begin, std::size_t end, std::size_t depth, bool in_digest) {
    if (depth > limits_.max_depth) {
      throw LimitError("MIME nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    if (++parts_ > limits_.max_parts) {
      throw LimitError("more than " + std::to_string(limits_.max_parts) + " MIME parts");
    }
    Part part;
    part.headers = HeaderBlock::parse(message_.substr(begin, end - begin), limits_.headers);
    part.header = {begin, begin + part.headers.consumed()};
    part.body = {part.header.end, end};
    part.preamble = part.epilogue = {end, end};
    if (part.headers.end() == HeaderBlock::End::not_a_field) {
      part.defects.push_back(Defect::bad_header_line);
    } else if (part.headers.end() == HeaderBlock::End::end_of_input && end > begin) {
      part.defects.push_back(Defect::header_not_terminated);
    }
    if (const Header* field = part.headers.find("content-type")) {
      if (auto type = ContentType::parse(field->raw_value)) {
        part.content_type = std::move(*type);
      } else {
        part.defects.push_back(Defect::invalid_content_type);
      }
    } else if (in_digest) {
      part.content_type.type = "message";
      part.content_type.subtype = "rfc822";
    }
    part.transfer_encoding = transfer_encoding_of(part.headers);
    if (const Header* field = part.headers.find("content-disposition")) {
      part.disposition = ContentDisposition::parse(field->raw_value);
    }

    if (part.content_type.is("multipart")) {
      const std::string* boundary = part.content_type.param("boundary");
      if (boundary == nullptr || boundary->empty()) {
        part.defects.push_back(Defect::missing_boundary);
      } else {
        split(part, *boundary, depth);
      }
    } else if ((part.content_type.is("message", "rfc822") || part.content_type.is("message", "global")) &&
               is_identity_encoding(part.transfer_encoding)) {
      part.children.push_back(parse(part.body.begin, part.body.end, depth + 1, false));
    }
    return part;
  }

 private:
  // The delimiter line starting at p, if there is one, within [p, end).
  std::optional<Delimiter> delimiter_at(std::size_t p, std::size_t end, std::string_view dashed) const {
    if (message_.substr(p, std::min(dashed.size(), end - p)) != dashed) {
      return std::nullopt;
    }
    Delimiter d{p, p + dashed.size(), false};
    if (message_.substr(d.next, std::min<std::size_t>(2, end - d.next)) == "--") {
      d.close = true;
      d.next += 2;
    }
    while (d.next < end && (message_[d.next] == ' ' || message_[d.next] == '\t')) {
      ++d.next;
    }
    if (d.next == end) {
      return d;
    }
    if (message_[d.next] == '\n') {
      ++d.next;
      return d;
    }
    if (message_[d.next] == '\r' && d.next + 1 < end && message_[d.next + 1] == '\n') {
      d.next += 2;
      return d;
    }
    return std::nullopt;
  }

  std::vector<Delimiter> find_delimiters(Range body, std::string_view dashed) const {
    std::vector<Delimiter> found;
    std::string needle = "\n" + std::string(dashed);
    std::string_view area = message_.substr(body.begin, body.size());
    std::size_t p = body.begin;  // the body starts at a line start
    while (true) {
      if (auto d = delimiter_at(p, body.end, dashed)) {
        found.push_back(*d);
        if (d->close) {
          break;
        }
      }
      std::size_t hit = area.find(needle, p - body.begin);
      if (hit == std::string_view::npos) {
        break;
      }
      p = body.begin + hit + 1;
    }
    return found;
  }

  // Where the line break before position p starts (it belongs to the
  // delimiter line at p), not before floor.
  std::size_t before_line_break(std::size_t p, std::size_t floor) const {
    if (p > floor && message_[p - 1] == '\n') {
      --p;
      if (p > floor && message_[p - 1] == '\r') {
        --p;
      }
    }
    return p;
  }

  void split(Part& part, std::string_view boundary, std::size_t depth) {
    std::string dashed = "--" + std::string(boundary);
    std::vector<Delimiter> delimiters = find_delimiters(part.body, dashed);
    if (delimiters.empty() || delimiters.front().close) {
      part.defects.push_back(Defect::no_delimiter);
      return;
    }
    part.preamble = {part.body.begin, before_line_break(delimiters.front().line_begin, part.body.begin)};
    bool digest = part.content_type.is("multipart", "digest");
    for (std::size_t i = 0; i < delimiters.size() && !delimiters[i].close; ++i) {
      std::size_t begin = delimiters[i].next;
      std::size_t end = part.body.end;
      if (i + 1 < delimiters.size()) {
        end = before_line_break(delimiters[i + 1].line_begin, begin);
      }
      part.children.push_back(parse(begin, end, depth + 1, digest));
    }
    if (delimiters.back().close) {
      part.epilogue = {delimiters.back().next, part.body.end};
    } else {
      part.defects.push_back(Defect::missing_close_delimiter);
    }
  }

  std::string_view message_;
  const MimeLimits& limits_;
  std::size_t parts_ = 0;
};

}  // namespace

const char* to_string(Defect defect) noexcept {
  switch (defect) {
    case Defect::header_not_terminated: return "header-not-terminated";
    case Defect::bad_header_line: return "bad-header-line";
    case Defect::invalid_content_type: return "invalid-content-type";
    case Defect::missing_boundary: return "missing-boundary";
    case Defect::no_delimiter: return "no-delimiter";
    case Defect::missing_close_delimiter: return "missing-close-delimiter";
  }
  return "unknown";
}

bool Part::has(Defect defect) const noexcept {
  return std::find(defects.begin(), defects.end(), defect) != defects.end();
}

std::string Part::filename() const {
  const std::string* name = disposition.param("filename");
  if (name == nullptr) {
    name = content_type.param("name");
  }
  return name == nullptr ? std::string() : decode_header_text(*name);
}

std::optional<std::string> Part::decoded_body(std::string_view message) const {
  std::string_view bytes = body.of(message);
  if (transfer_encoding == "base64") {
    return decode_base64(bytes);
  }
  if (transfer_encoding == "quoted-printable") {
    return decode_quoted_printable(bytes);
  }
  if (is_identity_encoding(transfer_encoding)) {
    return std::string(bytes);
  }
  return std::nullopt;
}

Part parse_message(std::string_view message, const MimeLimits& limits) {
  return TreeParser(message, limits).parse(0, message.size(), 0, false);
}

}  // namespace postern::mime

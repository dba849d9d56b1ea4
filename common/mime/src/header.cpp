#include "postern/mime/header.hpp"

#include "postern/core/strings.hpp"

namespace postern::mime {

namespace {

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 5322 ftext: printable US-ASCII except the colon.
bool is_ftext(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

struct Line {
  std::string_view content;  // without the line break
  std::string_view eol;      // "\r\n", "\n" or ""
  std::size_t next = 0;      // offset just past the line
};

Line next_line(std::string_view input, std::size_t pos) {
  auto nl = input.find('\n', pos);
  if (nl == std::string_view::npos) {
    return {input.substr(pos), {}, input.size()};
  }
  std::size_t content_end = (nl > pos && input[nl - 1] == '\r') ? nl - 1 : nl;
  return {input.substr(pos, content_end - pos), input.substr(content_end, nl + 1 - content_end), nl + 1};
}

}  // namespace

std::string Header::value() const { return std::string(core::trim(unfold(raw_value))); }

std::string Header::serialize() const { return name + before_colon + ':' + raw_value + eol; }

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 2 < raw.size() && raw[i + 1] == '\n' && is_wsp(raw[i + 2])) {
      ++i;
      continue;
    }
    if (raw[i] == '\n' && i + 1 < raw.size() && is_wsp(raw[i + 1])) {
      continue;
    }
    out += raw[i];
  }
  return out;
}

HeaderBlock HeaderBlock::parse(std::string_view input, const HeaderLimits& limits) {
  HeaderBlock block;
  std::size_t pos = 0;
  std::size_t line_number = 0;
  while (pos < input.size()) {
    Line line = next_line(input, pos);
    ++line_number;
    // Checked only for lines that belong to the header: a long first body
    // line after a missing blank line is not a header problem.
    auto check_length = [&] {
      if (line.content.size() > limits.max_line_length) {
        throw LimitError("header line " + std::to_string(line_number) + " is longer than " +
                         std::to_string(limits.max_line_length) + " bytes");
      }
    };
    if (line.content.empty()) {
      block.blank_line_ = std::string(line.eol);
      block.end_ = End::blank_line;
      block.consumed_ = line.next;
      return block;
    }
    if (is_wsp(line.content.front())) {
      if (block.fields_.empty()) {
        break;  // a continuation with nothing to continue
      }
      check_length();
      Header& last = block.fields_.back();
      last.raw_value += last.eol;
      last.raw_value += line.content;
      last.eol = std::string(line.eol);
    } else {
      std::size_t name_end = 0;
      while (name_end < line.content.size() && is_ftext(line.content[name_end])) {
        ++name_end;
      }
      std::size_t colon = name_end;
      while (colon < line.content.size() && is_wsp(line.content[colon])) {
        ++colon;
      }
      if (name_end == 0 || colon == line.content.size() || line.content[colon] != ':') {
        break;
      }
      check_length();
      if (block.fields_.size() == limits.max_fields) {
        throw LimitError("more than " + std::to_string(limits.max_fields) + " header fields");
      }
      block.fields_.push_back(Header{std::string(line.content.substr(0, name_end)),
                                     std::string(line.content.substr(colon + 1)), std::string(line.eol),
                                     std::string(line.content.substr(name_end, colon - name_end))});
    }
    const Header& field = block.fields_.back();
    if (field.name.size() + field.raw_value.size() > limits.max_field_size) {
      throw LimitError("header field " + std::to_string(block.fields_.size()) + " is larger than " +
                       std::to_string(limits.max_field_size) + " bytes");
    }
    pos = line.next;
  }
  block.end_ = pos < input.size() ? End::not_a_field : End::end_of_input;
  block.consumed_ = pos;
  return block;
}

const Header* HeaderBlock::find(std::string_view name) const noexcept {
  for (const auto& field : fields_) {
    if (core::iequals(field.name, name)) {
      return &field;
    }
  }
  return nullptr;
}

std::vector<const Header*> HeaderBlock::find_all(std::string_view name) const {
  std::vector<const Header*> out;
  for (const auto& field : fields_) {
    if (core::iequals(field.name, name)) {
      out.push_back(&field);
    }
  }
  return out;
}

std::string HeaderBlock::serialize() const {
  std::string out;
  for (const auto& field : fields_) {
    out += field.serialize();
  }
  out += blank_line_;
  return out;
}

}  // namespace postern::mime

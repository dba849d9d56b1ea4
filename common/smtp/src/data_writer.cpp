#include "postern/smtp/data_writer.hpp"

namespace postern::smtp {

std::string DataWriter::feed(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 64 + 4);
  for (char c : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      out += "\r\n";
      line_start_ = true;
      if (c == '\n') continue;  // CRLF: already written
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') {
      out += "\r\n";
      line_start_ = true;
      continue;
    }
    if (line_start_ && c == '.') out += '.';
    out += c;
    line_start_ = false;
  }
  return out;
}

std::string DataWriter::finish() {
  std::string out;
  if (pending_cr_) {
    pending_cr_ = false;
    out += "\r\n";
    line_start_ = true;
  }
  if (!line_start_) out += "\r\n";
  out += ".\r\n";
  line_start_ = true;
  return out;
}

bool DataWriter::is_8bit(std::string_view bytes) noexcept {
  for (char c : bytes) {
    if (static_cast<unsigned char>(c) > 127) return true;
  }
  return false;
}

}  // namespace postern::smtp

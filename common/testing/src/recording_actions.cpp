#include "postern/testing/recording_actions.hpp"

#include <stdexcept>

namespace postern::testing {

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          static const char* hex = "0123456789abcdef";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::optional<std::string> RecordingActions::macro(std::string_view name) const {
  auto it = macros_.find(std::string(name));
  if (it == macros_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void RecordingActions::require(bool capability, const char* what) {
  // libmilter refuses modifications outside eom and undeclared actions with
  // MI_FAILURE; the real adapter turns that into an internal error. Tests
  // must fail the same way, so a filter cannot pass here and fail live.
  if (!in_eom_) {
    throw std::logic_error(std::string(what) + " outside end of message");
  }
  if (!capability) {
    throw std::logic_error(std::string(what) + " without declaring the capability");
  }
  if (body_replaced_ && std::string_view(what) != "replace_body") {
    other_change_after_body_ = true;
  }
}

void RecordingActions::add_header(std::string_view name, std::string_view value) {
  require(caps_.add_headers, "add_header");
  transcript_.push_back("add_header " + quote(name) + " " + quote(value));
}

void RecordingActions::insert_header(int index, std::string_view name, std::string_view value) {
  require(caps_.add_headers, "insert_header");
  transcript_.push_back("insert_header " + std::to_string(index) + " " + quote(name) + " " + quote(value));
}

void RecordingActions::change_header(std::string_view name, int index, std::optional<std::string_view> value) {
  require(caps_.change_headers, "change_header");
  if (value) {
    transcript_.push_back("change_header " + quote(name) + " " + std::to_string(index) + " " + quote(*value));
  } else {
    transcript_.push_back("delete_header " + quote(name) + " " + std::to_string(index));
  }
}

void RecordingActions::change_sender(std::string_view address, std::string_view esmtp_args) {
  require(caps_.change_sender, "change_sender");
  std::string line = "change_sender " + quote(address);
  if (!esmtp_args.empty()) line += " " + quote(esmtp_args);
  transcript_.push_back(line);
}

void RecordingActions::add_recipient(std::string_view address, std::string_view esmtp_args) {
  require(caps_.add_recipients, "add_recipient");
  std::string line = "add_recipient " + quote(address);
  if (!esmtp_args.empty()) line += " " + quote(esmtp_args);
  transcript_.push_back(line);
}

void RecordingActions::delete_recipient(std::string_view address) {
  require(caps_.delete_recipients, "delete_recipient");
  transcript_.push_back("delete_recipient " + quote(address));
}

void RecordingActions::replace_body(std::string_view chunk) {
  require(caps_.change_body, "replace_body");
  if (other_change_after_body_) {
    // Postfix answers 451 4.3.5 when body chunks are interleaved with other
    // modifications.
    throw std::logic_error("replace_body chunks interleaved with other modifications");
  }
  if (!body_replaced_) {
    transcript_.push_back("replace_body");
  }
  body_replaced_ = true;
  new_body_.append(chunk);
}

void RecordingActions::quarantine(std::string_view reason) {
  require(caps_.quarantine, "quarantine");
  transcript_.push_back("quarantine " + quote(reason));
}

void RecordingActions::progress() { ++progress_calls_; }

void RecordingActions::clear_message() {
  body_replaced_ = false;
  other_change_after_body_ = false;
  new_body_.clear();
}

}  // namespace postern::testing

// NAME
//   recording_actions - an Actions that writes down what a filter asked for
// DESCRIPTION
//   The test double for the libmilter adapter. Macros are visible as Postfix
//   makes them visible: the driver sets them per stage. Every modification is
//   appended to the transcript as one line, in call order, and refused (as
//   libmilter refuses) outside end of message, or when the filter did not
//   declare the matching capability.
// THREADS
//   One test thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "postern/milter/actions.hpp"
#include "postern/milter/filter.hpp"

namespace postern::testing {

class RecordingActions final : public milter::Actions {
 public:
  explicit RecordingActions(milter::Capabilities caps) : caps_(std::move(caps)) {}

  std::optional<std::string> macro(std::string_view name) const override;
  void add_header(std::string_view name, std::string_view value) override;
  void insert_header(int index, std::string_view name, std::string_view value) override;
  void change_header(std::string_view name, int index, std::optional<std::string_view> value) override;
  void change_sender(std::string_view address, std::string_view esmtp_args) override;
  void add_recipient(std::string_view address, std::string_view esmtp_args) override;
  void delete_recipient(std::string_view address) override;
  void replace_body(std::string_view chunk) override;
  void quarantine(std::string_view reason) override;
  void progress() override;

  // Driver side.
  void set_macros(std::map<std::string, std::string> visible) { macros_ = std::move(visible); }
  void set_in_eom(bool in_eom) { in_eom_ = in_eom; }
  void note(std::string line) { transcript_.push_back(std::move(line)); }
  const std::vector<std::string>& transcript() const { return transcript_; }
  bool body_replaced() const { return body_replaced_; }
  const std::string& new_body() const { return new_body_; }
  int progress_calls() const { return progress_calls_; }
  void clear_message();  // forget body replacement state for the next message

 private:
  void require(bool capability, const char* what);
  milter::Capabilities caps_;
  std::map<std::string, std::string> macros_;
  std::vector<std::string> transcript_;
  bool in_eom_ = false;
  bool body_replaced_ = false;
  bool other_change_after_body_ = false;
  std::string new_body_;
  int progress_calls_ = 0;
};

// "value" with C-style escapes for CR, LF, TAB, quotes and non-ASCII, so a
// transcript line shows exact bytes on one line.
std::string quote(std::string_view value);

}  // namespace postern::testing

// NAME
//   actions - what a filter may ask of the MTA
// DESCRIPTION
//   Implemented by the libmilter adapter (the real thing) and by
//   testing::RecordingActions (unit and golden tests). Modifications are
//   allowed only from Session::on_eom; a failed modification throws
//   core::MessageError(internal), which the framework turns into the
//   configured disposition, so a filter never carries on half-done.
//   Header indexes count from 1 among headers of that name, as libmilter does.
// THREADS
//   Belongs to one callback invocation; never keep a reference.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::milter {

class Actions {
 public:
  virtual ~Actions() = default;

  // A macro's value, or nullopt when the MTA did not send it.
  virtual std::optional<std::string> macro(std::string_view name) const = 0;
  // The queue id ("i" macro) or "" when not yet known.
  std::string queue_id() const { return macro("i").value_or(""); }

  virtual void add_header(std::string_view name, std::string_view value) = 0;
  // index 0 inserts above every header, including the MTA's Received:.
  virtual void insert_header(int index, std::string_view name, std::string_view value) = 0;
  // nullopt deletes the index-th header of that name.
  virtual void change_header(std::string_view name, int index, std::optional<std::string_view> value) = 0;
  virtual void change_sender(std::string_view address, std::string_view esmtp_args = {}) = 0;
  virtual void add_recipient(std::string_view address, std::string_view esmtp_args = {}) = 0;
  virtual void delete_recipient(std::string_view address) = 0;
  // Replaces the body; call repeatedly with consecutive chunks, no other
  // modification in between.
  virtual void replace_body(std::string_view chunk) = 0;
  virtual void quarantine(std::string_view reason) = 0;
  // Tells the MTA we are still working (restarts its timeout).
  virtual void progress() = 0;
};

}  // namespace postern::milter

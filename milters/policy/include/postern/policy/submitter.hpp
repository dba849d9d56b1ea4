// NAME
//   submitter - how postern-policy hands a message to the re-injection listener
// SUMMARY
//   auto s = std::make_shared<SmtpSubmitter>(endpoint, options);
//   smtp::Result r = s->submit(submission, {headers, body});
// DESCRIPTION
//   The filter submits re-injected copies and notices through this
//   interface: SmtpSubmitter speaks SMTP to the loopback listener
//   (common/smtp); tests put a recorder in its place (the real path is
//   covered by the e2e test through Postfix).
// THREADS
//   submit() is called from many connection threads at once.
#pragma once

#include <string_view>
#include <vector>

#include "postern/smtp/client.hpp"

namespace postern::policy {

class Submitter {
 public:
  virtual ~Submitter() = default;
  virtual smtp::Result submit(const smtp::Submission& submission, const std::vector<std::string_view>& message) = 0;
};

class SmtpSubmitter final : public Submitter {
 public:
  SmtpSubmitter(smtp::Endpoint endpoint, smtp::Options options)
      : endpoint_(std::move(endpoint)), options_(std::move(options)) {}
  smtp::Result submit(const smtp::Submission& submission, const std::vector<std::string_view>& message) override {
    return smtp::submit(endpoint_, options_, submission, message);
  }

 private:
  smtp::Endpoint endpoint_;
  smtp::Options options_;
};

}  // namespace postern::policy

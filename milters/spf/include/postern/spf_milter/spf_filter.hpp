// NAME
//   spf_filter - the postern-spf milter: SPF, SenderID, TLS requirements
// SUMMARY
//   auto filter = build_filter(config);                 // real DNS
//   auto filter = build_filter_with(*config, zone);     // tests: fixed answers
// DESCRIPTION
//   Per connection: the client address and the HELO name. Trusted networks
//   and clients without an address are accepted at connect: Postfix then
//   leaves this milter out of the connection. Per message:
//     MAIL   SPF for MAIL FROM (for the null path: the HELO identity) and,
//            when configured, for HELO on its own (no reply: the answer
//            comes at RCPT);
//     RCPT   the decision per recipient, because the securemail scope may
//            depend on the recipient domain: TLS requirements, SPF fail /
//            softfail, temperror (451 4.4.3), permerror (550 5.7.24);
//     header collects the PRA candidates and notes forged
//            Authentication-Results (our authserv-id) and Received-SPF;
//     EOH    SenderID for the PRA, rejected only when enforced;
//     EOM    removes the forged headers, adds Received-SPF and
//            Authentication-Results at the top, logs one line.
//   The body is never asked for (SMFIP_NOBODY), so Postfix does not stream
//   it to us. The checks run on one Checker (one libspf2 server, one DNS
//   cache) shared by all connections of this configuration; a reload builds
//   a new one, with a cold cache.
// THREADS
//   The filter is immutable and shared; a session belongs to one thread.
#pragma once

#include <memory>

#include "postern/config/config.hpp"
#include "postern/milter/filter.hpp"
#include "postern/spf/checker.hpp"
#include "postern/spf_milter/settings.hpp"

namespace postern::spf_milter {

class SpfFilter final : public milter::Filter {
 public:
  SpfFilter(Settings settings, std::shared_ptr<const spf::Resolver> resolver);
  milter::Capabilities capabilities() const override;
  std::unique_ptr<milter::Session> open_session() const override;

  const Settings& settings() const noexcept { return settings_; }
  const spf::Checker& checker() const noexcept { return checker_; }

 private:
  Settings settings_;
  spf::Checker checker_;
};

std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config);
std::shared_ptr<const milter::Filter> build_filter_with(const config::Config& config,
                                                        std::shared_ptr<const spf::Resolver> resolver);

}  // namespace postern::spf_milter

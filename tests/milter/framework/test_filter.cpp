// NAME
//   postern-testfilter - a small milter that exercises the framework
// DESCRIPTION
//   Not shipped. It lets the miltertest and program tests check, against a
//   real binary over the real protocol, what every Postern milter inherits:
//   negotiation of only the needed steps, a no-reply step's failure given at
//   end of message, per-recipient rejects, a NULL host address, several
//   messages per connection, reload on SIGUSR1 and the -n check.
//   Behaviour: a recipient starting with "reject" is refused; a header named
//   X-Throw makes the message fail (an exception in a no-reply step); at end
//   of message it adds one header (name from the config) with what it saw.
#include <stdexcept>

#include "postern/milter/program.hpp"

namespace {

using namespace postern;

class TestSession final : public milter::Session {
 public:
  explicit TestSession(std::string header) : header_(std::move(header)) {}

  milter::Verdict on_connect(const milter::ConnectInfo& info, milter::Actions&) override {
    client_ = info.address.empty() ? "null" : info.address;
    return milter::Verdict::proceed();
  }
  milter::Verdict on_mail(const std::vector<std::string>&, milter::Actions&) override {
    rcpts_ = 0;
    return milter::Verdict::proceed();
  }
  milter::Verdict on_rcpt(const std::vector<std::string>& args, milter::Actions&) override {
    if (args.at(0).rfind("<reject", 0) == 0) {
      return milter::Verdict::reject("550", "5.1.1", "recipient refused by test filter");
    }
    ++rcpts_;
    return milter::Verdict::proceed();
  }
  milter::Verdict on_header(std::string_view name, std::string_view, milter::Actions&) override {
    if (name == "X-Throw") {
      throw std::runtime_error("test filter asked to fail");
    }
    return milter::Verdict::proceed();
  }
  milter::Verdict on_eom(milter::Actions& actions) override {
    ++messages_;
    actions.add_header(header_, "client=" + client_ + " rcpts=" + std::to_string(rcpts_) +
                                    " message=" + std::to_string(messages_));
    rcpts_ = 0;
    return milter::Verdict::proceed();
  }
  void on_abort() override { rcpts_ = 0; }

 private:
  std::string header_;
  std::string client_ = "none";
  int rcpts_ = 0;
  int messages_ = 0;
};

class TestFilter final : public milter::Filter {
 public:
  explicit TestFilter(std::string header) : header_(std::move(header)) {}
  milter::Capabilities capabilities() const override {
    milter::Capabilities c;
    c.connect = {true, false};
    c.envfrom = {true, false};
    c.envrcpt = {true, true};
    c.header = {true, false};
    c.add_headers = true;
    return c;
  }
  std::unique_ptr<milter::Session> open_session() const override {
    return std::make_unique<TestSession>(header_);
  }

 private:
  std::string header_;
};

const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema sc("postern-testfilter", "Framework test filter (not shipped)");
    milter::declare_common_keys(sc, "inet:10039@127.0.0.1");
    sc.section("test", "Test filter behaviour");
    sc.key({.path = "test.header",
            .type = config::Type::string,
            .default_value = "X-Postern-Test",
            .doc = "name of the header added at end of message"});
    return sc;
  }();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  milter::Program program{
      .name = "postern-testfilter",
      .short_name = "testfilter",
      .schema = &schema(),
      .build = [](std::shared_ptr<const config::Config> cfg) -> std::shared_ptr<const milter::Filter> {
        return std::make_shared<TestFilter>(cfg->get_string("test.header"));
      }};
  return milter::run(argc, argv, program);
}

#include "postern/policy/policy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <tuple>

#include "compile.hpp"
#include "postern/config/config.hpp"
#include "postern/config/node.hpp"
#include "postern/core/strings.hpp"

namespace postern::policy {
namespace {

using Severity = core::Diagnostic::Severity;
namespace fs = std::filesystem;

std::string where_text(const core::Location& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const char* to_string(Direction d) noexcept { return d == Direction::outbound ? "outbound" : "inbound"; }

const char* to_string(Disposition d) noexcept {
  switch (d) {
    case Disposition::accept: return "accept";
    case Disposition::discard: return "discard";
    case Disposition::hold: return "hold";
    case Disposition::reject: return "reject";
    case Disposition::tempfail: return "tempfail";
  }
  return "accept";
}

// Reads the main file and its drop-in folder into a Policy, collecting every
// problem before giving up.
class Loader {
 public:
  std::shared_ptr<const Policy> run(const std::string& path, Services services) {
    policy_.reset(new Policy());
    policy_->services_ = std::move(services);
    std::vector<File> files;
    if (auto main = parse(path)) {
      check_keys(*main, {"direction", "on_lookup_error", "authserv_id", "groups", "licensed_users", "lists", "include",
                         "rules"});
      files.push_back({path, std::move(*main)});
      read_direction(files.front());
      read_settings(files.front().root);
      read_includes(files);
    }
    for (const auto& f : files) {
      if (const auto* lists = f.root.find("lists")) read_lists(*lists, f.path);
    }
    if (!files.empty()) {
      if (const auto* lic = files.front().root.find("licensed_users")) read_licensed(*lic);
    }
    for (const auto& f : files) {
      if (const auto* rules = f.root.find("rules")) read_rules(*rules);
    }
    find_unreachable();
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
    });
    const bool failed = std::any_of(diagnostics_.begin(), diagnostics_.end(),
                                    [](const auto& d) { return d.severity == Severity::error; });
    if (failed) throw core::ConfigError(std::move(diagnostics_));
    policy_->warnings_ = std::move(diagnostics_);
    return policy_;
  }

 private:
  struct File {
    std::string path;
    config::Node root;
  };

  void error(const core::Location& where, std::string message) {
    diagnostics_.push_back({where, std::move(message), Severity::error});
  }
  void warning(const core::Location& where, std::string message) {
    diagnostics_.push_back({where, std::move(message), Severity::warning});
  }
  detail::CompileContext context(const NamedLists* lists) {
    return detail::CompileContext{lists, diagnostics_, &settings_};
  }

  void read_settings(const config::Node& root) {
    if (const auto* on = root.find("on_lookup_error")) {
      if (on->is_scalar() && on->text() == "tempfail") {
        policy_->on_lookup_error_ = OnLookupError::tempfail;
      } else if (on->is_scalar() && on->text() == "continue") {
        policy_->on_lookup_error_ = OnLookupError::proceed;
      } else {
        error(on->where(), "on_lookup_error is tempfail or continue");
      }
    }
    if (const auto* id = root.find("authserv_id")) {
      if (!id->is_scalar() || id->text().empty() || id->text().find_first_of(" \t;()") != std::string::npos) {
        error(id->where(), "authserv_id is one token, the authserv-id postern-spf writes (e.g. mx.example.org)");
      } else {
        policy_->authserv_id_ = id->text();
        settings_.authserv_id = core::ascii_lower(id->text());
      }
    }
    if (const auto* groups = root.find("groups")) {
      if (!groups->is_map()) {
        error(groups->where(), "groups is a mapping of NAME: directory group (a DN)");
        return;
      }
      for (const auto& [key, value] : groups->entries()) {
        if (!valid_name(key.text())) {
          error(key.where(), "group name " + config::quote(key.text()) + " may hold only letters, digits, '_', '-', '.'");
        } else if (!value.is_scalar() || core::trim(value.text()).empty()) {
          error(value.where(), "group " + config::quote(key.text()) + " needs the directory group it stands for (a DN)");
        } else {
          settings_.groups.emplace(key.text(), value.text());
          policy_->groups_.emplace_back(key.text(), value.text());
        }
      }
    }
  }

  // licensed_users: {groups: [NAME...], lists: [NAME...]}
  void read_licensed(const config::Node& lic) {
    if (!lic.is_map()) {
      error(lic.where(), "licensed_users is {groups: [NAME...], lists: [NAME...]}");
      return;
    }
    check_keys(lic, {"groups", "lists"});
    settings_.licensing_configured = true;
    if (const auto* groups = lic.find("groups")) {
      for (const config::Node* item : scalar_items(*groups, diagnostics_)) {
        const auto found = settings_.groups.find(item->text());
        if (found == settings_.groups.end()) {
          error(item->where(), "unknown group " + config::quote(item->text()) + "; define it under `groups`");
        } else {
          settings_.licensed_groups.emplace_back(found->first, found->second);
          policy_->licensed_groups_.push_back(item->text());
        }
      }
    }
    if (const auto* lists = lic.find("lists")) {
      for (const config::Node* item : scalar_items(*lists, diagnostics_)) {
        const auto found = lists_.find(item->text());
        if (found == lists_.end()) {
          if (list_where_.count(item->text()) == 0) error(item->where(), "unknown list " + config::quote(item->text()));
        } else {
          settings_.licensed_lists.push_back(found->second);
          policy_->licensed_lists_.push_back(item->text());
        }
      }
    }
    if (lic.find("groups") == nullptr && lic.find("lists") == nullptr) {
      error(lic.where(), "licensed_users needs groups, lists or both");
    }
  }

  std::optional<config::Node> parse(const std::string& path) {
    try {
      config::Node root = config::parse_file(path);
      policy_->files_.push_back(path);
      if (!root.is_map()) {
        error(root.is_null() ? core::Location{path, 1, 1} : root.where(),
              root.is_null() ? "the policy file is empty" : "a policy file is a mapping (lists, rules, ...)");
        return std::nullopt;
      }
      return root;
    } catch (const core::ConfigError& e) {
      diagnostics_.insert(diagnostics_.end(), e.diagnostics().begin(), e.diagnostics().end());
      return std::nullopt;
    }
  }

  // Unknown keys are reported; the known ones are still read, so one check
  // finds every problem.
  void check_keys(const config::Node& map, std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : map.entries()) {
      if (std::find(allowed.begin(), allowed.end(), key.text()) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        error(key.where(), "unknown key " + config::quote(key.text()) + "; known here: " + list);
      }
    }
  }

  void read_direction(const File& file) {
    const config::Node* d = file.root.find("direction");
    if (d == nullptr) return;
    if (!d->is_map()) {
      error(d->where(), "direction is a mapping");
      return;
    }
    check_keys(*d, {"internal_networks", "outbound_listeners", "authenticated_is_outbound"});
    DirectionSettings& s = policy_->direction_;
    if (const auto* nets = d->find("internal_networks")) {
      for (const config::Node* item : scalar_items(*nets, diagnostics_)) {
        try {
          s.internal_networks.push_back(core::Network::parse(item->text()));
        } catch (const std::invalid_argument& e) {
          error(item->where(), e.what());
        }
      }
    }
    if (const auto* names = d->find("outbound_listeners")) {
      for (const config::Node* item : scalar_items(*names, diagnostics_)) s.outbound_listeners.push_back(item->text());
    }
    if (const auto* authed = d->find("authenticated_is_outbound")) {
      try {
        if (!authed->is_scalar()) throw core::ConfigError(authed->where(), "expected true or false");
        s.authenticated_is_outbound = config::parse_bool(authed->text(), authed->where());
      } catch (const core::ConfigError& e) {
        diagnostics_.insert(diagnostics_.end(), e.diagnostics().begin(), e.diagnostics().end());
      }
    }
  }

  void read_includes(std::vector<File>& files) {
    const config::Node* inc = files.front().root.find("include");
    if (inc == nullptr) return;
    if (!inc->is_scalar() || inc->text().empty()) {
      error(inc->where(), "include names one folder");
      return;
    }
    fs::path dir(inc->text());
    if (dir.is_relative()) dir = fs::path(files.front().path).parent_path() / dir;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      error(inc->where(), "include folder " + config::quote(dir.string()) + " is not a readable folder");
      return;
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".yaml" && entry.is_regular_file(ec)) names.push_back(entry.path().string());
    }
    if (ec) {
      error(inc->where(), "cannot list include folder " + config::quote(dir.string()) + ": " + ec.message());
      return;
    }
    if (names.empty()) warning(inc->where(), "include folder " + config::quote(dir.string()) + " has no *.yaml files");
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (auto root = parse(name)) {
        check_keys(*root, {"lists", "rules"});
        files.push_back({name, std::move(*root)});
      }
    }
  }

  void read_lists(const config::Node& lists, const std::string& file) {
    if (!lists.is_map()) {
      error(lists.where(), "lists is a mapping of NAME: [patterns] or NAME: {file: PATH}");
      return;
    }
    for (const auto& [key, value] : lists.entries()) {
      const std::string& name = key.text();
      if (!valid_name(name)) {
        error(key.where(), "list name " + config::quote(name) + " may hold only letters, digits, '_', '-', '.'");
        continue;
      }
      if (const auto seen = list_where_.find(name); seen != list_where_.end()) {
        error(key.where(), "list " + config::quote(name) + " is already defined at " + where_text(seen->second));
        continue;
      }
      list_where_.emplace(name, key.where());
      const std::size_t before = diagnostics_.size();
      AddressMatcher matcher;
      if (value.is_sequence() && value.items().empty()) {
        // An empty list is legitimate (nobody on it yet).
      } else if (value.is_map()) {
        check_keys(value, {"file"});
        const config::Node* path = value.find("file");
        if (path == nullptr || !path->is_scalar() || path->text().empty()) {
          error(value.where(), "a list from a file is written {file: PATH}");
        } else {
          read_list_file(*path, file, matcher);
        }
      } else {
        matcher = AddressMatcher::compile(value, nullptr, diagnostics_);
      }
      if (diagnostics_.size() == before) {
        policy_->list_patterns_.emplace_back(name, matcher.sources());
        lists_.emplace(name, std::make_shared<const AddressMatcher>(std::move(matcher)));
      }
    }
  }

  // One pattern per line; blank lines and lines starting with '#' are skipped.
  void read_list_file(const config::Node& path_node, const std::string& policy_file, AddressMatcher& matcher) {
    fs::path path(path_node.text());
    if (path.is_relative()) path = fs::path(policy_file).parent_path() / path;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error(path_node.where(), "cannot read list file " + config::quote(path.string()) + ": " + std::strerror(errno));
      return;
    }
    policy_->files_.push_back(path.string());
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      const std::string_view text = core::trim(line);
      if (text.empty() || text.front() == '#') continue;
      const int column = static_cast<int>(text.data() - line.data()) + 1;
      matcher.add(text, core::Location{path.string(), number, column}, nullptr, diagnostics_);
    }
  }

  void read_rules(const config::Node& rules) {
    if (!rules.is_sequence()) {
      error(rules.where(), "rules is a list of rules");
      return;
    }
    for (const auto& node : rules.items()) {
      if (!node.is_map()) {
        error(node.where(), "a rule is a mapping (name, when, actions, stop)");
        continue;
      }
      if (auto rule = read_rule(node)) policy_->rules_.push_back(std::move(*rule));
    }
  }

  std::optional<Rule> read_rule(const config::Node& node) {
    const std::size_t before = diagnostics_.size();
    check_keys(node, {"name", "description", "when", "actions", "stop"});
    Rule rule;
    rule.where = node.where();
    const config::Node* name = node.find("name");
    if (name == nullptr || !name->is_scalar() || !valid_name(name->text())) {
      error(name == nullptr ? node.where() : name->where(),
            "a rule needs a name of letters, digits, '_', '-', '.'");
    } else if (const auto seen = rule_where_.find(name->text()); seen != rule_where_.end()) {
      error(name->where(), "rule " + config::quote(name->text()) + " is already defined at " + where_text(seen->second));
    } else {
      rule.name = name->text();
      rule_where_.emplace(rule.name, name->where());
    }
    if (const auto* d = node.find("description")) {
      if (d->is_scalar()) {
        rule.description = d->text();
      } else {
        error(d->where(), "description is text");
      }
    }
    if (const auto* when = node.find("when")) {
      rule.when = detail::compile_when(*when, context(&lists_));
      rule.when_text = detail::render(*when);
      rule.when_yaml = detail::flow_yaml(*when);
      rule.per_recipient = rule.when ? rule.when->per_recipient() : true;
      if (rule.when && rule.per_recipient) rule.when->independent_conjuncts(rule.gate);
    }
    if (const auto* actions = node.find("actions")) {
      if (!actions->is_sequence() || actions->items().empty()) {
        error(actions->where(), "actions is a non-empty list");
      } else {
        for (const auto& item : actions->items()) {
          if (auto a = detail::compile_action(item, context(&lists_))) rule.actions.push_back(std::move(*a));
        }
      }
    }
    bool stop_unreadable = false;
    if (const auto* stop = node.find("stop")) {
      try {
        if (!stop->is_scalar()) throw core::ConfigError(stop->where(), "expected true or false");
        rule.stop = config::parse_bool(stop->text(), stop->where());
      } catch (const core::ConfigError& e) {
        diagnostics_.insert(diagnostics_.end(), e.diagnostics().begin(), e.diagnostics().end());
        stop_unreadable = true;
      }
    }
    if (node.find("actions") == nullptr && !rule.stop && !stop_unreadable) {
      error(node.where(), "rule does nothing: give it actions, or stop: true");
    }
    if (diagnostics_.size() != before) return std::nullopt;
    return rule;
  }

  // A rule after an unconditional stop never runs; a rule with the same
  // conditions as an earlier stopping rule never runs either.
  void find_unreachable() {
    const Rule* catch_all = nullptr;
    std::unordered_map<std::string, const Rule*> stops;
    for (const Rule& rule : policy_->rules_) {
      if (catch_all != nullptr) {
        warning(rule.where, "rule " + config::quote(rule.name) + " is unreachable: rule " +
                                config::quote(catch_all->name) + " at " + where_text(catch_all->where) +
                                " matches every message and stops");
      } else if (const auto s = stops.find(rule.when_text); s != stops.end() && !rule.when_text.empty()) {
        warning(rule.where, "rule " + config::quote(rule.name) + " is shadowed by rule " +
                                config::quote(s->second->name) + " at " + where_text(s->second->where) +
                                ", which has the same conditions and stops");
      }
      if (rule.stop) {
        if (rule.when_text.empty()) {
          if (catch_all == nullptr) catch_all = &rule;
        } else {
          stops.emplace(rule.when_text, &rule);
        }
      }
    }
  }

  std::shared_ptr<Policy> policy_;
  std::vector<core::Diagnostic> diagnostics_;
  NamedLists lists_;
  detail::Settings settings_;
  std::unordered_map<std::string, core::Location> list_where_;
  std::unordered_map<std::string, core::Location> rule_where_;
};

std::shared_ptr<const Policy> Policy::load(const std::string& path) { return Loader().run(path, Services{}); }

std::shared_ptr<const Policy> Policy::load(const std::string& path, Services services) {
  return Loader().run(path, std::move(services));
}

Subject Policy::subject(const Envelope& envelope, const MessageFacts& facts, std::string_view recipient) const {
  Direction direction = Direction::inbound;
  std::string reason = "default";
  if (envelope.client_address && core::contains_any(direction_.internal_networks, *envelope.client_address)) {
    direction = Direction::outbound;
    reason = "internal network";
  } else if (direction_.authenticated_is_outbound && !envelope.auth_user.empty()) {
    direction = Direction::outbound;
    reason = "authenticated";
  } else if (std::find(direction_.outbound_listeners.begin(), direction_.outbound_listeners.end(),
                       envelope.listener) != direction_.outbound_listeners.end()) {
    direction = Direction::outbound;
    reason = "listener";
  }
  return Subject{envelope,          facts,    direction,        std::move(reason), normalize_address(envelope.sender),
                 normalize_address(recipient), &services_, on_lookup_error_, {}, {}, {}};
}

namespace {

void apply(const Action& action, const Rule& rule, Decision& d) {
  using K = Action::Kind;
  auto dispose = [&](Disposition disposition) {
    if (disposition > d.disposition) {
      d.disposition = disposition;
      d.text = action.text;
      d.decided_by = rule.name;
    }
  };
  plan::Plan& p = d.transforms;
  switch (action.kind) {
    case K::no_processing: d.no_processing = true; break;
    case K::reject: dispose(Disposition::reject); break;
    case K::hold: dispose(Disposition::hold); break;
    case K::discard: dispose(Disposition::discard); break;
    case K::encrypt:
      if (p.encrypt == plan::EncryptMethod::none) {
        p.encrypt = action.method;
        p.fallback = action.fallback;
        p.cipher = action.cipher;
      }
      break;
    case K::sign: p.sign = true; break;
    case K::decrypt: p.decrypt = true; break;
    case K::verify:
      p.verify = true;
      p.remove_signature = p.remove_signature || action.remove_signature;
      break;
    case K::revocation:
      if (p.revocation == plan::Revocation::inherit) p.revocation = action.revocation;
      break;
    case K::security_tag:
      if (p.security_tags.empty()) p.security_tags = action.tags;
      break;
    case K::incamail:
      if (p.incamail == plan::IncaMailType::none) p.incamail = action.incamail;
      break;
    case K::add_header: {
      plan::HeaderField field{action.text, action.value};
      if (std::find(p.add_headers.begin(), p.add_headers.end(), field) == p.add_headers.end()) {
        p.add_headers.push_back(std::move(field));
      }
      break;
    }
    case K::remove_header:
      if (std::none_of(p.remove_headers.begin(), p.remove_headers.end(),
                       [&](const std::string& n) { return core::iequals(n, action.text); })) {
        p.remove_headers.push_back(action.text);
      }
      break;
    case K::subject_tag:
      if (p.subject_tag.empty()) p.subject_tag = action.text;
      break;
    case K::change_header: {
      // A change is "remove every field of the name, then add one": the
      // field ends up at the end of the header, and is added when absent.
      if (std::none_of(p.remove_headers.begin(), p.remove_headers.end(),
                       [&](const std::string& n) { return core::iequals(n, action.text); })) {
        p.remove_headers.push_back(action.text);
      }
      plan::HeaderField field{action.text, action.value};
      if (std::find(p.add_headers.begin(), p.add_headers.end(), field) == p.add_headers.end()) {
        p.add_headers.push_back(std::move(field));
      }
      break;
    }
    case K::acknowledge:
    case K::alert: {
      Notice n{action.kind == K::alert ? Notice::Kind::alert : Notice::Kind::acknowledge, action.addresses,
               action.text, rule.name};
      const bool seen = std::any_of(d.notices.begin(), d.notices.end(), [&](const Notice& o) {
        return o.kind == n.kind && o.to == n.to && o.text == n.text;
      });
      if (!seen) d.notices.push_back(std::move(n));
      break;
    }
    case K::generate_keys: d.generate_keys = true; break;
    case K::redirect:
    case K::forward: {
      auto& list = action.kind == K::redirect ? d.redirect_to : d.forward_to;
      for (const std::string& a : action.addresses) {
        if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
      }
      break;
    }
  }
}

}  // namespace

Decision Policy::decide(const Subject& subject, std::vector<RuleTrace>* trace) const {
  return decide(subject, trace, nullptr);
}

Decision Policy::decide(const Subject& subject, std::vector<RuleTrace>* trace, std::vector<Cached>* cache) const {
  Decision d;
  std::size_t index = 0;
  bool halted = false;  // a stop, or a tempfail
  for (const Rule& rule : rules_) {
    RuleTrace* rt = nullptr;
    if (trace != nullptr) {
      rt = &trace->emplace_back();
      rt->rule = &rule;
    }
    if (halted) {
      if (trace == nullptr) break;
      ++index;
      continue;
    }
    subject.lookup_error.clear();
    Truth truth = Truth::yes;
    Cached* slot = cache != nullptr && rule.when && (!rule.per_recipient || !rule.gate.empty()) ? &(*cache)[index]
                                                                                               : nullptr;
    ++index;
    if (slot != nullptr && rule.per_recipient) {
      // The recipient-independent conjuncts, once per message: when one
      // is false the rule is false for every recipient.
      if (!slot->known) {
        slot->known = true;
        slot->truth = Truth::yes;
        for (const Condition* c : rule.gate) {
          if (c->test(subject, nullptr, 0) == Truth::no) slot->truth = Truth::no;
        }
        subject.lookup_error.clear();
      }
      truth = slot->truth == Truth::no ? Truth::no : rule.when->test(subject, nullptr, 0);
    } else if (slot != nullptr && slot->known) {
      truth = slot->truth;
      subject.lookup_error = slot->error;
    } else if (rule.when) {
      truth = rule.when->test(subject, rt != nullptr ? &rt->conditions : nullptr, 0);
      if (slot != nullptr) *slot = Cached{true, truth, subject.lookup_error};
    }
    if (rt != nullptr) {
      rt->evaluated = true;
      rt->matched = truth == Truth::yes;
      rt->failed = truth == Truth::failed;
    }
    if (truth == Truth::failed) {
      // Whether the rule matches is unknown: retrying later is the only
      // answer that cannot be wrong.
      d.disposition = Disposition::tempfail;
      d.text = "lookup failed: " + (subject.lookup_error.empty() ? std::string("unknown error") : subject.lookup_error);
      d.decided_by = rule.name;
      halted = true;
      continue;
    }
    if (truth != Truth::yes) continue;
    d.matched_rules.push_back(rule.name);
    for (const Action& action : rule.actions) apply(action, rule, d);
    if (rule.stop) {
      d.stopped_by = rule.name;
      halted = true;
    }
  }
  if (d.no_processing) d.transforms = plan::Plan{};
  return d;
}

MessageDecision Policy::decide_message(const Envelope& envelope, const MessageFacts& facts) const {
  MessageDecision out;
  std::vector<Cached> cache(rules_.size());
  for (const std::string& rcpt : envelope.recipients) {
    const Subject s = subject(envelope, facts, rcpt);
    out.direction = s.direction;
    Decision d = decide(s, nullptr, &cache);
    out.strongest = std::max(out.strongest, d.disposition);
    if (d.disposition == Disposition::accept) {
      auto group = std::find_if(out.groups.begin(), out.groups.end(), [&](const plan::Plan& g) {
        plan::Plan bare = g;
        bare.recipients.clear();
        return bare == d.transforms;
      });
      if (group == out.groups.end()) {
        group = out.groups.insert(out.groups.end(), d.transforms);
      }
      group->recipients.push_back(rcpt);
    }
    out.recipients.push_back({rcpt, std::move(d)});
  }
  return out;
}

std::string Policy::dump() const {
  using detail::yaml_scalar;
  auto flow_list = [](const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& i : items) out += (out.size() > 1 ? ", " : "") + yaml_scalar(i);
    return out + "]";
  };
  std::string out = "# The effective policy after includes";
  out += files_.empty() ? std::string() : ", loaded from " + files_.front();
  out += ".\n# List files are inlined; rules are in evaluation order.\n";
  out += "direction:\n";
  if (!direction_.internal_networks.empty()) {
    out += "  internal_networks: [";
    for (std::size_t i = 0; i < direction_.internal_networks.size(); ++i) {
      out += (i ? ", " : "") + yaml_scalar(direction_.internal_networks[i].to_string());
    }
    out += "]\n";
  }
  if (!direction_.outbound_listeners.empty()) {
    out += "  outbound_listeners: " + flow_list(direction_.outbound_listeners) + "\n";
  }
  out += std::string("  authenticated_is_outbound: ") + (direction_.authenticated_is_outbound ? "true" : "false") + "\n";
  out += std::string("on_lookup_error: ") + (on_lookup_error_ == OnLookupError::proceed ? "continue" : "tempfail") + "\n";
  if (!authserv_id_.empty()) out += "authserv_id: " + yaml_scalar(authserv_id_) + "\n";
  if (!groups_.empty()) {
    out += "groups:\n";
    for (const auto& [name, dn] : groups_) out += "  " + yaml_scalar(name) + ": " + yaml_scalar(dn) + "\n";
  }
  if (!licensed_groups_.empty() || !licensed_lists_.empty()) {
    out += "licensed_users:\n";
    if (!licensed_groups_.empty()) out += "  groups: " + flow_list(licensed_groups_) + "\n";
    if (!licensed_lists_.empty()) out += "  lists: " + flow_list(licensed_lists_) + "\n";
  }
  if (!list_patterns_.empty()) {
    out += "lists:\n";
    for (const auto& [name, patterns] : list_patterns_) out += "  " + yaml_scalar(name) + ": " + flow_list(patterns) + "\n";
  }
  if (rules_.empty()) return out + "rules: []\n";
  out += "rules:\n";
  for (const Rule& r : rules_) {
    out += "  # " + where_text(r.where) + "\n";
    out += "  - name: " + yaml_scalar(r.name) + "\n";
    if (!r.description.empty()) out += "    description: " + yaml_scalar(r.description) + "\n";
    if (!r.when_yaml.empty()) out += "    when: " + r.when_yaml + "\n";
    if (!r.actions.empty()) {
      out += "    actions:\n";
      for (const Action& a : r.actions) out += "      - " + a.yaml + "\n";
    }
    if (r.stop) out += "    stop: true\n";
  }
  return out;
}

}  // namespace postern::policy

// The one table of conditions and actions: declarations for docs and errors,
// and the compile functions the loader calls.
#include "postern/policy/catalog.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <initializer_list>

#include "compile.hpp"
#include "postern/config/config.hpp"
#include "postern/core/strings.hpp"
#include "postern/mime/address.hpp"
#include "postern/policy/facts.hpp"

namespace postern::policy::detail {
namespace {

// A test writes what it looked at into *seen only when seen is not null
// (explain); the milter's evaluation allocates nothing for it.
using Seen = std::string;
using Test = std::function<bool(const Subject&, Seen*)>;
using LookupTest = std::function<Truth(const Subject&, Seen*)>;

class Predicate final : public Condition {
 public:
  Predicate(std::string text, core::Location where, Test test, bool per_recipient)
      : Condition(std::move(text), std::move(where)), test_(std::move(test)), per_recipient_(per_recipient) {}
  Predicate(std::string text, core::Location where, LookupTest test, bool per_recipient)
      : Condition(std::move(text), std::move(where)), lookup_(std::move(test)), per_recipient_(per_recipient) {}

  int cost() const noexcept override { return lookup_ ? 100 : 1; }
  bool per_recipient() const noexcept override { return per_recipient_; }

  Truth test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const override {
    Seen seen;
    Seen* out = trace != nullptr ? &seen : nullptr;
    Truth t = Truth::no;
    if (test_) {
      t = test_(subject, out) ? Truth::yes : Truth::no;
    } else {
      t = lookup_(subject, out);
      if (t == Truth::failed && subject.on_lookup_error == OnLookupError::proceed) {
        t = Truth::no;
        if (out != nullptr) seen += "; counted as false (on_lookup_error: continue)";
      }
    }
    if (trace != nullptr) {
      trace->push_back({text(), where(), depth, t == Truth::yes, std::move(seen), t == Truth::failed});
    }
    return t;
  }

 private:
  Test test_;
  LookupTest lookup_;
  bool per_recipient_;
};

std::string attachment_list(const MessageFacts& facts) {
  std::string out;
  for (const auto& a : facts.attachments) {
    out += (out.empty() ? "" : ", ") + (a.name.empty() ? std::string("(no name)") : a.name) + " [" + a.declared_type +
           (a.sniffed_type.empty() ? "" : ", is " + a.sniffed_type) + "]";
  }
  return out.empty() ? "no attachments" : out;
}

class Combination final : public Condition {
 public:
  enum class Op { all, any, negation };
  Combination(std::string text, core::Location where, Op op, std::vector<std::unique_ptr<const Condition>> parts)
      : Condition(std::move(text), std::move(where)), op_(op), parts_(std::move(parts)) {
    for (const auto& p : parts_) {
      fast_.push_back(p.get());
      cost_ += p->cost();
    }
    std::stable_sort(fast_.begin(), fast_.end(), [](const Condition* a, const Condition* b) { return a->cost() < b->cost(); });
  }

  int cost() const noexcept override { return cost_; }
  bool per_recipient() const noexcept override {
    for (const auto& p : parts_) {
      if (p->per_recipient()) return true;
    }
    return false;
  }
  void independent_conjuncts(std::vector<const Condition*>& out) const override {
    if (op_ != Op::all) return;
    for (const auto& p : parts_) {
      if (!p->per_recipient()) out.push_back(p.get());
    }
  }

  // Three-valued (Kleene) logic: a definite answer decides even when
  // another part failed; otherwise a failure propagates.
  Truth test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const override {
    std::size_t slot = 0;
    if (trace != nullptr) {
      slot = trace->size();
      trace->push_back({text(), where(), depth, false, "", false});
    }
    Truth result = op_ == Op::any ? Truth::no : Truth::yes;
    bool failed = false;
    const std::size_t n = parts_.size();
    for (std::size_t i = 0; i < n; ++i) {
      // Traced: as written; otherwise cheapest first.
      const Condition* part = trace != nullptr ? parts_[i].get() : fast_[i];
      const Truth t = part->test(subject, trace, depth + 1);
      if (op_ == Op::negation) {
        result = t == Truth::failed ? Truth::failed : t == Truth::yes ? Truth::no : Truth::yes;
      } else if (t == Truth::failed) {
        failed = true;
      } else if (op_ == Op::all && t == Truth::no) {
        result = Truth::no;
        if (trace == nullptr) break;
      } else if (op_ == Op::any && t == Truth::yes) {
        result = Truth::yes;
        if (trace == nullptr) break;
      }
    }
    if (failed && op_ != Op::negation) {
      const Truth decisive = op_ == Op::all ? Truth::no : Truth::yes;
      if (result != decisive) result = Truth::failed;
    }
    if (trace != nullptr) {
      (*trace)[slot].matched = result == Truth::yes;
      (*trace)[slot].failed = result == Truth::failed;
    }
    return result;
  }

 private:
  Op op_;
  std::vector<std::unique_ptr<const Condition>> parts_;
  std::vector<const Condition*> fast_;
  int cost_ = 0;
};

using Compiled = std::unique_ptr<const Condition>;
using ConditionCompiler = Compiled (*)(std::string text, const config::Node& arg, const CompileContext& context);

struct ConditionEntry {
  Declaration decl;
  ConditionCompiler compile;
};

// per_recipient: the test reads the recipient (else decide_message
// evaluates it once per message).
Compiled predicate(std::string text, const config::Node& arg, Test test, bool per_recipient = false) {
  return std::make_unique<Predicate>(std::move(text), arg.where(), std::move(test), per_recipient);
}

Compiled lookup_predicate(std::string text, const config::Node& arg, LookupTest test, bool per_recipient) {
  return std::make_unique<Predicate>(std::move(text), arg.where(), std::move(test), per_recipient);
}

const config::Node* scalar(const config::Node& arg, const CompileContext& context) {
  if (!arg.is_scalar()) {
    context.error(arg.where(), std::string("expected a value, found a ") + config::Node::kind_name(arg.kind()));
    return nullptr;
  }
  return &arg;
}

std::optional<bool> boolean(const config::Node& arg, const CompileContext& context) {
  if (scalar(arg, context) == nullptr) return std::nullopt;
  try {
    return config::parse_bool(arg.text(), arg.where());
  } catch (const core::ConfigError& e) {
    context.diagnostics.insert(context.diagnostics.end(), e.diagnostics().begin(), e.diagnostics().end());
    return std::nullopt;
  }
}

std::optional<std::uint64_t> size(const config::Node& arg, const CompileContext& context) {
  if (scalar(arg, context) == nullptr) return std::nullopt;
  try {
    return config::parse_size(arg.text(), arg.where());
  } catch (const core::ConfigError& e) {
    context.diagnostics.insert(context.diagnostics.end(), e.diagnostics().begin(), e.diagnostics().end());
    return std::nullopt;
  }
}

std::optional<std::uint64_t> count(const config::Node& arg, const CompileContext& context) {
  if (scalar(arg, context) == nullptr) return std::nullopt;
  std::uint64_t n = 0;
  const std::string& t = arg.text();
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || n > 1000000) {
    context.error(arg.where(), "expected a whole number from 0 to 1000000, found " + config::quote(t));
    return std::nullopt;
  }
  return n;
}

// The values of a scalar-or-list argument, each one of `choices`.
std::optional<std::vector<std::string>> choices(const config::Node& arg, const std::vector<std::string_view>& allowed,
                                                const CompileContext& context) {
  std::vector<std::string> out;
  bool ok = true;
  for (const config::Node* item : scalar_items(arg, context.diagnostics)) {
    bool known = false;
    for (auto a : allowed) known = known || item->text() == a;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      context.error(item->where(), config::quote(item->text()) + " is not one of: " + list);
      ok = false;
    }
    out.push_back(item->text());
  }
  if (!ok || out.empty()) return std::nullopt;
  return out;
}

bool contains(const std::vector<std::string>& values, std::string_view v) {
  for (const auto& x : values) {
    if (x == v) return true;
  }
  return false;
}

bool mapping_keys(const config::Node& arg, std::initializer_list<std::string_view> allowed, const CompileContext& context) {
  bool ok = true;
  for (const auto& [key, value] : arg.entries()) {
    bool known = false;
    for (auto a : allowed) known = known || key.text() == a;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      context.error(key.where(), "unknown key " + config::quote(key.text()) + "; known: " + list);
      ok = false;
    }
  }
  return ok;
}

Compiled address_condition(std::string text, const config::Node& arg, const CompileContext& context, bool sender) {
  const std::size_t before = context.diagnostics.size();
  auto matcher = std::make_shared<const AddressMatcher>(AddressMatcher::compile(arg, context.lists, context.diagnostics));
  if (context.diagnostics.size() != before) return nullptr;
  return predicate(std::move(text), arg, [matcher, sender](const Subject& s, Seen* seen) {
    const std::string& address = sender ? s.sender : s.recipient;
    if (seen != nullptr) *seen = address.empty() ? "<>" : address;
    return matcher->matches(address);
  }, !sender);
}

// Protection conditions: true, false, smime or pgp.
Compiled protection_condition(std::string text, const config::Node& arg, const CompileContext& context,
                              Protection MessageFacts::*field) {
  const auto values = choices(arg, {"true", "false", "smime", "pgp"}, context);
  if (!values || values->size() != 1) {
    if (values) context.error(arg.where(), "expected one value");
    return nullptr;
  }
  const std::string want = values->front();
  return predicate(std::move(text), arg, [want, field](const Subject& s, Seen* seen) {
    const Protection p = s.facts.*field;
    if (seen != nullptr) *seen = to_string(p);
    if (want == "true") return p != Protection::none;
    if (want == "false") return p == Protection::none;
    return want == to_string(p);
  });
}

int tls_rank(std::string_view version) {
  static constexpr std::pair<std::string_view, int> kRanks[] = {
      {"SSLv3", 1}, {"TLSv1", 2}, {"TLSv1.1", 3}, {"TLSv1.2", 4}, {"TLSv1.3", 5}};
  for (const auto& [name, rank] : kRanks) {
    if (name == version) return rank;
  }
  return 0;
}


// ---- lookups ----

enum class Party { sender, recipient, internal };

const std::string& party_address(const Subject& s, Party p) {
  if (p == Party::internal) return s.direction == Direction::outbound ? s.sender : s.recipient;
  return p == Party::sender ? s.sender : s.recipient;
}

std::string shown(const std::string& address) { return address.empty() ? "<>" : address; }

Truth lookup_failed(const Subject& s, Seen* seen, const std::string& why) {
  if (s.lookup_error.empty()) s.lookup_error = why;
  if (seen != nullptr) *seen += (seen->empty() ? "" : "; ") + std::string("lookup failed: ") + why;
  return Truth::failed;
}

const lookup::Directory* directory_of(const Subject& s) {
  return s.services != nullptr ? s.services->directory.get() : nullptr;
}

// The directory's answers, memoized for one recipient's evaluation.
const lookup::Lookup<std::vector<std::string>>& ask_attribute(const Subject& s, const lookup::Directory& dir,
                                                               const std::string& address, const std::string& attr) {
  for (const auto& [key, answer] : s.attribute_answers) {
    if (key.size() == address.size() + 1 + attr.size() && key.compare(0, address.size(), address) == 0 &&
        key.compare(address.size() + 1, attr.size(), attr) == 0) {
      return answer;
    }
  }
  s.attribute_answers.emplace_back(address + "\n" + attr, dir.attribute(address, attr));
  return s.attribute_answers.back().second;
}

lookup::Lookup<bool> ask_member(const Subject& s, const lookup::Directory& dir, const std::string& address,
                                const std::string& group) {
  for (const auto& [key, answer] : s.member_answers) {
    if (key.size() == address.size() + 2 + group.size() && key.compare(0, address.size(), address) == 0 &&
        key.compare(address.size() + 2, group.size(), group) == 0) {
      return answer;
    }
  }
  s.member_answers.emplace_back(address + "\n\n" + group, dir.member_of(address, group));
  return s.member_answers.back().second;
}

constexpr char kNoDirectory[] = "no directory configured";
constexpr char kNoKeys[] = "no key store configured";

struct Group {
  std::string name;
  std::string dn;
};

std::string known_groups(const CompileContext& c) {
  std::vector<std::string> names;
  for (const auto& [name, dn] : c.settings->groups) names.push_back(name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none defined" : out;
}

std::optional<std::vector<Group>> group_names(const config::Node& arg, const CompileContext& c) {
  std::vector<Group> out;
  bool ok = true;
  for (const config::Node* item : scalar_items(arg, c.diagnostics)) {
    const auto found = c.settings->groups.find(item->text());
    if (found == c.settings->groups.end()) {
      c.error(item->where(), "unknown group " + config::quote(item->text()) + "; define it under `groups` (known: " +
                                 known_groups(c) + ")");
      ok = false;
      continue;
    }
    out.push_back({found->first, found->second});
  }
  if (!ok || out.empty()) return std::nullopt;
  return out;
}

// Asks the directory for each group until one answers yes.
Truth member_of_any(const Subject& s, const std::string& address, const std::vector<Group>& groups, Seen* seen) {
  if (address.empty()) {
    if (seen != nullptr) *seen += "<> is in no group";
    return Truth::no;
  }
  const lookup::Directory* dir = directory_of(s);
  if (dir == nullptr) return lookup_failed(s, seen, kNoDirectory);
  bool failed = false;
  for (const Group& g : groups) {
    const auto r = ask_member(s, *dir, address, g.dn);
    if (r.failed()) {
      failed = true;
      lookup_failed(s, seen, "member_of " + g.name + ": " + r.error);
      continue;
    }
    if (seen != nullptr) *seen += (seen->empty() ? "" : "; ") + address + " in " + g.name + ": " + (*r.value ? "yes" : "no");
    if (*r.value) return Truth::yes;
  }
  return failed ? Truth::failed : Truth::no;
}

Compiled member_condition(std::string text, const config::Node& arg, const CompileContext& c, Party party) {
  auto groups = group_names(arg, c);
  if (!groups) return nullptr;
  return lookup_predicate(
      std::move(text), arg,
      [groups = std::move(*groups), party](const Subject& s, Seen* seen) {
        return member_of_any(s, party_address(s, party), groups, seen);
      },
      party != Party::sender);
}

// {attribute: NAME, value: PATTERN or list}; without value: any value.
Compiled attribute_condition(std::string text, const config::Node& arg, const CompileContext& c, Party party) {
  if (!arg.is_map()) {
    c.error(arg.where(), "takes {attribute: NAME, value: PATTERN or list of them}");
    return nullptr;
  }
  if (!mapping_keys(arg, {"attribute", "value"}, c)) return nullptr;
  const config::Node* name = arg.find("attribute");
  if (name == nullptr || !name->is_scalar() || name->text().empty()) {
    c.error(name == nullptr ? arg.where() : name->where(), "attribute needs a name, e.g. {attribute: department}");
    return nullptr;
  }
  for (char ch : name->text()) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == ';';
    if (!ok) {
      c.error(name->where(), "an LDAP attribute name holds letters, digits and '-': " + config::quote(name->text()));
      return nullptr;
    }
  }
  std::shared_ptr<const NameMatcher> values;
  if (const config::Node* v = arg.find("value")) {
    const std::size_t before = c.diagnostics.size();
    values = std::make_shared<const NameMatcher>(NameMatcher::compile(*v, c.diagnostics));
    if (c.diagnostics.size() != before) return nullptr;
  }
  return lookup_predicate(std::move(text), arg,
                          [attr = name->text(), values, party](const Subject& s, Seen* seen) -> Truth {
                            const std::string& address = party_address(s, party);
                            if (address.empty()) {
                              if (seen != nullptr) *seen = "<> has no attributes";
                              return Truth::no;
                            }
                            const lookup::Directory* dir = directory_of(s);
                            if (dir == nullptr) return lookup_failed(s, seen, kNoDirectory);
                            const auto& r = ask_attribute(s, *dir, address, attr);
                            if (r.failed()) return lookup_failed(s, seen, attr + " of " + address + ": " + r.error);
                            if (seen != nullptr) {
                              std::string list;
                              for (const auto& v : *r.value) list += (list.empty() ? "" : ", ") + v;
                              *seen = attr + " of " + address + ": [" + list + "]";
                            }
                            for (const auto& v : *r.value) {
                              if (!values || values->matches(v)) return Truth::yes;
                            }
                            return Truth::no;
                          },
                          party != Party::sender);
}

std::optional<Party> party_choice(const config::Node& arg, const CompileContext& c) {
  const auto v = choices(arg, {"sender", "recipient", "internal"}, c);
  if (!v) return std::nullopt;
  if (v->size() != 1) {
    c.error(arg.where(), "expected one value");
    return std::nullopt;
  }
  return v->front() == "sender" ? Party::sender : v->front() == "recipient" ? Party::recipient : Party::internal;
}

// ---- Authentication-Results ----

const std::vector<std::string_view> kAuthResults = {"pass",      "fail",      "softfail", "neutral", "none",
                                                    "temperror", "permerror", "policy",   "absent"};

// The result our own authserv-id reported for `method` ("absent" when it
// reported none). spf prefers the smtp.mailfrom check over the helo one.
std::string own_result(const MessageFacts& f, const std::string& authserv_id, std::string_view method) {
  for (const auto& ar : f.authentication_results) {
    if (ar.authserv_id != authserv_id) continue;
    const AuthResults::Result* first = nullptr;
    for (const auto& r : ar.results) {
      if (r.method != method) continue;
      if (method != "spf" || r.properties.find("smtp.mailfrom") != std::string::npos) return r.result;
      if (first == nullptr) first = &r;
    }
    return first != nullptr ? first->result : "absent";
  }
  return "absent";
}

Compiled auth_condition(std::string text, const config::Node& arg, const CompileContext& c, std::string_view method) {
  const auto v = choices(arg, kAuthResults, c);
  if (!v) return nullptr;
  if (c.settings->authserv_id.empty()) {
    c.error(arg.where(), std::string(method) +
                             " needs `authserv_id` at the top level: the authserv-id postern-spf writes "
                             "(spf.authserv_id), so that only our own Authentication-Results count");
    return nullptr;
  }
  return predicate(std::move(text), arg, [v = *v, id = c.settings->authserv_id, m = std::string(method)](
                                             const Subject& s, Seen* seen) {
    const std::string result = own_result(s.facts, id, m);
    if (seen != nullptr) {
      *seen = result == "absent" ? "no " + m + " result from " + id : m + "=" + result + " (from " + id + ")";
    }
    return contains(v, result);
  });
}

Compiled compile_condition_map(const config::Node& when, const CompileContext& context);

Compiled combination(std::string text, const config::Node& arg, const CompileContext& context, Combination::Op op) {
  std::vector<Compiled> parts;
  if (op == Combination::Op::negation) {
    if (!arg.is_map()) {
      context.error(arg.where(), "'not' takes a mapping of conditions");
      return nullptr;
    }
    if (auto c = compile_condition_map(arg, context)) parts.push_back(std::move(c));
  } else if (!arg.is_sequence() || arg.items().empty()) {
    context.error(arg.where(), "expected a non-empty list of condition mappings");
    return nullptr;
  } else {
    for (const auto& item : arg.items()) {
      if (!item.is_map()) {
        context.error(item.where(), "expected a mapping of conditions");
        continue;
      }
      if (auto c = compile_condition_map(item, context)) parts.push_back(std::move(c));
    }
  }
  if (parts.empty()) return nullptr;
  return std::make_unique<Combination>(std::move(text), arg.where(), op, std::move(parts));
}

const std::vector<ConditionEntry>& condition_table() {
  static const std::vector<ConditionEntry> table = {
      {{"sender", "address pattern or list of them",
        "The envelope sender (MAIL FROM) matches any pattern; `<>` is the null sender."},
       [](std::string t, const config::Node& a, const CompileContext& c) { return address_condition(std::move(t), a, c, true); }},
      {{"recipient", "address pattern or list of them", "The envelope recipient being decided matches any pattern."},
       [](std::string t, const config::Node& a, const CompileContext& c) { return address_condition(std::move(t), a, c, false); }},
      {{"direction", "inbound | outbound", "The direction derived from the `direction` settings."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"inbound", "outbound"}, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = std::string(to_string(s.direction)) + " (" + s.direction_reason + ")";
           return contains(v, to_string(s.direction));
         });
       }},
      {{"client_network", "address or CIDR prefix, or list of them", "The SMTP client address is in any network."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         std::vector<core::Network> nets;
         for (const config::Node* item : scalar_items(a, c.diagnostics)) {
           try {
             nets.push_back(core::Network::parse(item->text()));
           } catch (const std::invalid_argument& e) {
             c.error(item->where(), e.what());
           }
         }
         if (nets.empty()) return nullptr;
         return predicate(std::move(t), a, [nets](const Subject& s, Seen* seen) {
           const auto& ip = s.envelope.client_address;
           if (seen != nullptr) *seen = ip ? ip->to_string() : "unknown";
           return ip && core::contains_any(nets, *ip);
         });
       }},
      {{"authenticated", "true | false", "The client authenticated with SASL ({auth_authen} set)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = boolean(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen* seen) {
           const bool authed = !s.envelope.auth_user.empty();
           if (seen != nullptr) *seen = authed ? "as " + s.envelope.auth_user : "no";
           return authed == want;
         });
       }},
      {{"listener", "name or list of names", "The Postfix service the message came in on ({daemon_name})."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         std::vector<std::string> names;
         for (const config::Node* item : scalar_items(a, c.diagnostics)) names.push_back(item->text());
         if (names.empty()) return nullptr;
         return predicate(std::move(t), a, [names](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = s.envelope.listener;
           return contains(names, s.envelope.listener);
         });
       }},
      {{"size_over", "size (bytes, K, M, G)", "The message is larger than this."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = size(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [limit = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = std::to_string(s.facts.size);
           return s.facts.size > limit;
         });
       }},
      {{"size_under", "size (bytes, K, M, G)", "The message is smaller than this."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = size(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [limit = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = std::to_string(s.facts.size);
           return s.facts.size < limit;
         });
       }},
      {{"priority", "high | normal | low, or list of them",
        "From X-Priority (1-2 high, 3 normal, 4-5 low), else Importance; normal when neither."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"high", "normal", "low"}, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen* seen) {
           const std::string_view value = to_string(s.facts.priority);
           if (seen != nullptr) *seen = value;
           return contains(v, value);
         });
       }},
      {{"sensitivity", "personal | private | company-confidential | normal, or list of them",
        "The Sensitivity header; normal when it is absent."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"personal", "private", "company-confidential", "normal"}, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen* seen) {
           const std::string_view value =
               s.facts.sensitivity.empty() ? std::string_view("normal") : std::string_view(s.facts.sensitivity);
           if (seen != nullptr) *seen = value;
           return contains(v, value);
         });
       }},
      {{"subject_contains", "text or list of texts",
        "The decoded Subject contains any text, ignoring ASCII case."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         std::vector<std::string> words;
         for (const config::Node* item : scalar_items(a, c.diagnostics)) {
           if (item->text().empty()) {
             c.error(item->where(), "empty text would match every subject");
             continue;
           }
           words.push_back(item->text());
         }
         if (words.empty()) return nullptr;
         return predicate(std::move(t), a, [words](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = s.facts.subject;
           for (const auto& w : words) {
             if (core::icontains(s.facts.subject, w)) return true;
           }
           return false;
         });
       }},
      {{"encrypted", "true | false | smime | pgp",
        "The message arrived encrypted (S/MIME, PGP/MIME or inline PGP), judged from its top part."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return protection_condition(std::move(t), a, c, &MessageFacts::encrypted);
       }},
      {{"signed", "true | false | smime | pgp",
        "The message arrived signed (S/MIME, PGP/MIME or inline PGP), judged from its top part."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return protection_condition(std::move(t), a, c, &MessageFacts::signature);
       }},
      {{"tls", "true | false", "The client used TLS ({tls_version} set)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = boolean(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = s.envelope.tls_version.empty() ? "none" : s.envelope.tls_version;
           return s.envelope.tls_version.empty() != want;
         });
       }},
      {{"tls_version_at_least", "TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3",
        "The client used TLS of at least this version; false without TLS."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, c);
         if (!v || v->size() != 1) {
           if (v) c.error(a.where(), "expected one version");
           return nullptr;
         }
         return predicate(std::move(t), a, [rank = tls_rank(v->front())](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = s.envelope.tls_version.empty() ? "none" : s.envelope.tls_version;
           return tls_rank(s.envelope.tls_version) >= rank;
         });
       }},
      {{"tls_bits_at_least", "number", "The TLS cipher has at least this many bits ({cipher_bits}); false without TLS."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = count(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [bits = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = s.envelope.tls_version.empty() ? "none" : std::to_string(s.envelope.tls_cipher_bits);
           return !s.envelope.tls_version.empty() && s.envelope.tls_cipher_bits >= 0 &&
                  static_cast<std::uint64_t>(s.envelope.tls_cipher_bits) >= bits;
         });
       }},
      {{"attachment_name", "file name wildcard or /REGEX/, or list of them",
        "Any attachment's file name matches (wildcards ignore ASCII case)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const std::size_t before = c.diagnostics.size();
         auto m = std::make_shared<const NameMatcher>(NameMatcher::compile(a, c.diagnostics));
         if (c.diagnostics.size() != before) return nullptr;
         return predicate(std::move(t), a, [m](const Subject& s, Seen* seen) {
           bool any = false;
           for (const auto& name : s.facts.attachment_names) {
             any = any || (!name.empty() && m->matches(name));
           }
           if (seen != nullptr) *seen = attachment_list(s.facts);
           return any;
         });
       }},
      {{"attachment_count_at_least", "number", "The message has at least this many attachments."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = count(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [n = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = std::to_string(s.facts.attachment_names.size());
           return s.facts.attachment_names.size() >= n;
         });
       }},
      {{"has_attachment", "true | false", "The message has at least one attachment (true) or none (false)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = boolean(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = attachment_list(s.facts);
           return s.facts.attachments.empty() != want;
         });
       }},
      {{"attachment_declared_type", "type/subtype wildcard or /REGEX/, or list of them",
        "Any attachment's declared Content-Type matches, e.g. `application/*` (ignoring ASCII case)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const std::size_t before = c.diagnostics.size();
         auto m = std::make_shared<const NameMatcher>(NameMatcher::compile(a, c.diagnostics));
         if (c.diagnostics.size() != before) return nullptr;
         return predicate(std::move(t), a, [m](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = attachment_list(s.facts);
           for (const auto& at : s.facts.attachments) {
             if (m->matches(at.declared_type)) return true;
           }
           return false;
         });
       }},
      {{"attachment_sniffed_type",
        "pdf | ooxml | zip | ole2 | exe | elf | png | jpeg | gif | rar | 7z | gzip | bzip2 | xz | rtf | cab | unknown, or "
        "list of them",
        "Any attachment's content, judged by its magic bytes after decoding, is of this type."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         std::vector<std::string_view> allowed = sniffed_type_names();
         allowed.push_back("unknown");
         const auto v = choices(a, allowed, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen* seen) {
           if (seen != nullptr) *seen = attachment_list(s.facts);
           for (const auto& at : s.facts.attachments) {
             if (contains(v, at.sniffed_type.empty() ? std::string_view("unknown") : at.sniffed_type)) return true;
           }
           return false;
         });
       }},
      {{"attachment_type_mismatch", "true | false",
        "Some attachment's declared Content-Type or file extension disagrees with its sniffed type (true), or none "
        "does (false)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = boolean(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen* seen) {
           bool any = false;
           for (const auto& at : s.facts.attachments) {
             if (type_mismatch(at)) {
               any = true;
               if (seen != nullptr) *seen += (seen->empty() ? "mismatch: " : ", ") + (at.name.empty() ? "(no name)" : at.name);
             }
           }
           if (seen != nullptr && !any) *seen = attachment_list(s.facts);
           return any == want;
         });
       }},
      {{"sender_member_of", "group name or list of them (from `groups`)",
        "The sender's directory entry is a member of any group (lookup)."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return member_condition(std::move(t), a, c, Party::sender);
       }},
      {{"recipient_member_of", "group name or list of them (from `groups`)",
        "The recipient's directory entry is a member of any group (lookup)."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return member_condition(std::move(t), a, c, Party::recipient);
       }},
      {{"sender_attribute", "{attribute: NAME, value: wildcard or /REGEX/, or list of them}",
        "A value of the sender's directory attribute matches (ignoring ASCII case); without value: any value (lookup)."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return attribute_condition(std::move(t), a, c, Party::sender);
       }},
      {{"recipient_attribute", "{attribute: NAME, value: wildcard or /REGEX/, or list of them}",
        "A value of the recipient's directory attribute matches (ignoring ASCII case); without value: any value "
        "(lookup)."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return attribute_condition(std::move(t), a, c, Party::recipient);
       }},
      {{"licensed", "sender | recipient | internal",
        "The party (internal: the sender of outbound, the recipient of inbound mail) is in a `licensed_users` list "
        "or group (lookup for groups)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto party = party_choice(a, c);
         if (!party) return nullptr;
         if (!c.settings->licensing_configured) {
           c.error(a.where(), "licensed needs `licensed_users: {groups: [...], lists: [...]}` at the top level");
           return nullptr;
         }
         std::vector<Group> groups;
         for (const auto& [name, dn] : c.settings->licensed_groups) groups.push_back({name, dn});
         return lookup_predicate(std::move(t), a, [party = *party, groups, lists = c.settings->licensed_lists](
                                                      const Subject& s, Seen* seen) -> Truth {
           const std::string& address = party_address(s, party);
           for (const auto& l : lists) {
             if (l->matches(address)) {
               if (seen != nullptr) *seen = shown(address) + " is on a licensed_users list";
               return Truth::yes;
             }
           }
           if (groups.empty()) {
             if (seen != nullptr) *seen = shown(address) + " is on no licensed_users list";
             return Truth::no;
           }
           return member_of_any(s, address, groups, seen);
         }, *party != Party::sender);
       }},
      {{"key_available", "smime | pgp | any",
        "A usable certificate (smime) or OpenPGP key (pgp) to encrypt to the recipient is in the key store (lookup)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"smime", "pgp", "any"}, c);
         if (!v) return nullptr;
         if (v->size() != 1) {
           c.error(a.where(), "expected one value");
           return nullptr;
         }
         std::vector<lookup::KeyKind> kinds;
         if (v->front() != "pgp") kinds.push_back(lookup::KeyKind::smime_encrypt);
         if (v->front() != "smime") kinds.push_back(lookup::KeyKind::pgp_encrypt);
         return lookup_predicate(std::move(t), a, [kinds](const Subject& s, Seen* seen) -> Truth {
           if (s.recipient.empty()) return Truth::no;
           const lookup::KeyFinder* keys = s.services != nullptr ? s.services->keys.get() : nullptr;
           if (keys == nullptr) return lookup_failed(s, seen, kNoKeys);
           bool failed = false;
           for (const auto kind : kinds) {
             const auto r = keys->has_usable_key(s.recipient, kind);
             if (r.failed()) {
               failed = true;
               lookup_failed(s, seen, std::string(to_string(kind)) + " key of " + s.recipient + ": " + r.error);
               continue;
             }
             if (seen != nullptr) {
               *seen += (seen->empty() ? "" : "; ") + std::string(to_string(kind)) + " key of " + s.recipient + ": " +
                        (*r.value ? "yes" : "no");
             }
             if (*r.value) return Truth::yes;
           }
           return failed ? Truth::failed : Truth::no;
         }, true);
       }},
      {{"spf", "pass | fail | softfail | neutral | none | temperror | permerror | policy | absent, or list of them",
        "The SPF result (MAIL FROM, else HELO) in our own Authentication-Results (`authserv_id`); absent when there "
        "is none."},
       [](std::string t, const config::Node& a, const CompileContext& c) { return auth_condition(std::move(t), a, c, "spf"); }},
      {{"senderid", "pass | fail | softfail | neutral | none | temperror | permerror | policy | absent, or list of them",
        "The SenderID result in our own Authentication-Results (`authserv_id`); absent when there is none."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return auth_condition(std::move(t), a, c, "senderid");
       }},
      {{"all", "list of condition mappings", "Every mapping matches."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return combination(std::move(t), a, c, Combination::Op::all);
       }},
      {{"any", "list of condition mappings", "At least one mapping matches."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return combination(std::move(t), a, c, Combination::Op::any);
       }},
      {{"not", "condition mapping", "The mapping does not match."},
       [](std::string t, const config::Node& a, const CompileContext& c) {
         return combination(std::move(t), a, c, Combination::Op::negation);
       }},
  };
  return table;
}

std::string known_names(const std::vector<Declaration>& decls) {
  std::string out;
  for (const auto& d : decls) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

Compiled compile_condition_map(const config::Node& when, const CompileContext& context) {
  std::vector<Compiled> parts;
  bool failed = false;
  for (const auto& [key, value] : when.entries()) {
    const ConditionEntry* entry = nullptr;
    for (const auto& e : condition_table()) {
      if (e.decl.name == key.text()) entry = &e;
    }
    if (entry == nullptr) {
      context.error(key.where(), "unknown condition " + config::quote(key.text()) + "; known: " +
                                     known_names(condition_declarations()));
      failed = true;
      continue;
    }
    if (auto c = entry->compile(key.text() + ": " + render(value), value, context)) {
      parts.push_back(std::move(c));
    } else {
      failed = true;
    }
  }
  if (failed) return nullptr;
  if (parts.empty()) {
    context.error(when.where(), "no conditions (leave out `when` to match every message)");
    return nullptr;
  }
  if (parts.size() == 1) return std::move(parts.front());
  return std::make_unique<Combination>(render(when), when.where(), Combination::Op::all, std::move(parts));
}

// ---- actions ----

using ActionCompiler = bool (*)(const config::Node& arg, Action& action, const CompileContext& context);

struct ActionEntry {
  Declaration decl;
  Action::Kind kind;
  ActionCompiler compile;  // nullptr: the action takes no value
  bool value_optional = false;  // with compile: the bare name is allowed too
};

// Printable ASCII and tab only: the text goes into an SMTP reply or a header.
bool ascii_text(const config::Node& arg, std::string& out, bool allow_empty, const CompileContext& context) {
  if (scalar(arg, context) == nullptr) return false;
  for (char ch : arg.text()) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u < 32 && ch != '\t') || u > 126) {
      context.error(arg.where(), "only printable ASCII is allowed here, found " + config::quote(arg.text()));
      return false;
    }
  }
  if (!allow_empty && arg.text().empty()) {
    context.error(arg.where(), "must not be empty");
    return false;
  }
  out = arg.text();
  return true;
}

bool header_name(const config::Node& arg, std::string& out, const CompileContext& context) {
  if (!ascii_text(arg, out, false, context)) return false;
  if (out.find_first_of(": \t") != std::string::npos) {
    context.error(arg.where(), "a header name has no colon or whitespace: " + config::quote(out));
    return false;
  }
  if (core::istarts_with(out, "X-Postern-")) {
    context.error(arg.where(), "X-Postern-* headers are reserved for Postern itself");
    return false;
  }
  return true;
}



// Notice texts: printable ASCII, tabs and line breaks (a short letter).
bool notice_text(const config::Node& arg, std::string& out, const CompileContext& context) {
  if (scalar(arg, context) == nullptr) return false;
  for (char ch : arg.text()) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u < 32 && ch != '\t' && ch != '\n') || u > 126) {
      context.error(arg.where(), "only printable ASCII, tabs and line breaks are allowed here");
      return false;
    }
  }
  if (core::trim(arg.text()).empty()) {
    context.error(arg.where(), "must not be empty");
    return false;
  }
  // The placeholders postern-policy fills in when it writes the notice.
  static constexpr std::string_view kPlaceholders[] = {"sender", "recipients", "subject", "rule", "queue_id"};
  const std::string& t = arg.text();
  for (auto at = t.find("${"); at != std::string::npos; at = t.find("${", at + 2)) {
    const auto end = t.find('}', at);
    const std::string_view name = end == std::string::npos ? std::string_view() : std::string_view(t).substr(at + 2, end - at - 2);
    if (std::find(std::begin(kPlaceholders), std::end(kPlaceholders), name) == std::end(kPlaceholders)) {
      context.error(arg.where(), "unknown placeholder in " + config::quote(t) +
                                     "; known: ${sender}, ${recipients}, ${subject}, ${rule}, ${queue_id}");
      return false;
    }
  }
  out = arg.text();
  return true;
}

// One address or a list: each must parse as a mailbox (no null sender).
bool addresses(const config::Node& arg, std::vector<std::string>& out, const CompileContext& context) {
  const std::size_t before = context.diagnostics.size();
  for (const config::Node* item : scalar_items(arg, context.diagnostics)) {
    std::string_view text = core::trim(item->text());
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
    try {
      const auto box = text.empty() ? std::nullopt : mime::parse_envelope_path(text);
      if (!box) throw mime::AddressError("no address");
      (void)box->domain_ascii();
    } catch (const std::exception& e) {
      context.error(item->where(), "not a valid address " + config::quote(item->text()) + ": " + e.what());
      continue;
    }
    const std::string a(text);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return context.diagnostics.size() == before && !out.empty();
}

bool header_field(const config::Node& a, Action& act, const CompileContext& c, std::string_view action) {
  if (!a.is_map()) {
    c.error(a.where(), std::string(action) + " takes {name: NAME, value: TEXT}");
    return false;
  }
  if (!mapping_keys(a, {"name", "value"}, c)) return false;
  const config::Node* name = a.find("name");
  const config::Node* value = a.find("value");
  if (name == nullptr || value == nullptr) {
    c.error(a.where(), std::string(action) + " needs both name and value");
    return false;
  }
  return header_name(*name, act.text, c) && ascii_text(*value, act.value, true, c);
}

// A subject tag: text without control characters, not blank.
bool tag_text(const config::Node& a, std::string& out, const CompileContext& c) {
  if (scalar(a, c) == nullptr) return false;
  for (char ch : a.text()) {
    if (static_cast<unsigned char>(ch) < 32 || ch == 127) {
      c.error(a.where(), "control characters are not allowed in a subject tag");
      return false;
    }
  }
  if (core::trim(a.text()).empty()) {
    c.error(a.where(), "must not be empty");
    return false;
  }
  out = a.text();
  return true;
}

const std::vector<ActionEntry>& action_table() {
  using K = Action::Kind;
  static const std::vector<ActionEntry> table = {
      {{"no_processing", "-", "No transforms for the recipient, whatever other rules added."}, K::no_processing, nullptr},
      {{"reject", "text (printable ASCII)", "Refuse the message for the recipient with 550 5.7.1 and this text."},
       K::reject,
       [](const config::Node& a, Action& act, const CompileContext& c) { return ascii_text(a, act.text, false, c); }},
      {{"hold", "reason (printable ASCII)", "Put the message in Postfix's hold queue, logging the reason."},
       K::hold,
       [](const config::Node& a, Action& act, const CompileContext& c) { return ascii_text(a, act.text, false, c); }},
      {{"bounce", "text (printable ASCII)", "The same as `reject` (the sender gets the refusal with this text)."},
       K::reject,
       [](const config::Node& a, Action& act, const CompileContext& c) { return ascii_text(a, act.text, false, c); }},
      {{"discard", "-", "Accept and silently drop (delete) the message for the recipient."}, K::discard, nullptr},
      {{"encrypt", "smime | pgp | auto, or {method: ..., fallback: bounce | hold | incamail, cipher: cbc | gcm}",
        "Encrypt for the recipient; without a key or certificate the fallback decides (default bounce). S/MIME "
        "cipher: gcm (AuthEnvelopedData) or cbc; without it postern-crypto's setting and the recipients' known "
        "capabilities decide."},
       K::encrypt,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         const config::Node* method = &a;
         if (a.is_map()) {
           if (!mapping_keys(a, {"method", "fallback", "cipher"}, c)) return false;
           method = a.find("method");
           if (method == nullptr) {
             c.error(a.where(), "encrypt needs a method");
             return false;
           }
           if (const config::Node* fb = a.find("fallback")) {
             const auto f = fb->is_scalar() ? plan::parse_encrypt_fallback(fb->text()) : std::nullopt;
             if (!f) {
               c.error(fb->where(), "fallback is one of: bounce, hold, incamail");
               return false;
             }
             act.fallback = *f;
           }
           if (const config::Node* ci = a.find("cipher")) {
             const auto cipher = ci->is_scalar() ? plan::parse_content_cipher(ci->text()) : std::nullopt;
             if (!cipher || *cipher == plan::ContentCipher::automatic) {
               c.error(ci->where(), "cipher is one of: cbc, gcm");
               return false;
             }
             act.cipher = *cipher;
           }
         }
         const auto m = method->is_scalar() ? plan::parse_encrypt_method(method->text()) : std::nullopt;
         if (!m || *m == plan::EncryptMethod::none) {
           c.error(method->where(), "method is one of: smime, pgp, auto");
           return false;
         }
         if (act.cipher != plan::ContentCipher::automatic && *m == plan::EncryptMethod::pgp) {
           c.error(a.where(), "cipher applies to S/MIME only (method smime or auto)");
           return false;
         }
         act.method = *m;
         return true;
       }},
      {{"sign", "-", "Sign the message."}, K::sign, nullptr},
      {{"decrypt", "-", "Decrypt the message for the recipient."}, K::decrypt, nullptr},
      {{"verify", "-, or {signature: keep | remove}",
        "Verify the message's signature and record the result; `signature: remove` takes the signature layer "
        "off a message whose signature is valid (default keep)."},
       K::verify,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         if (!a.is_map()) {
           c.error(a.where(), "verify takes no value or {signature: keep | remove}");
           return false;
         }
         if (!mapping_keys(a, {"signature"}, c)) return false;
         const config::Node* sig = a.find("signature");
         if (sig == nullptr || !sig->is_scalar() || (sig->text() != "keep" && sig->text() != "remove")) {
           c.error(sig != nullptr ? sig->where() : a.where(), "signature is one of: keep, remove");
           return false;
         }
         act.remove_signature = sig->text() == "remove";
         return true;
       },
       true},
      {{"revocation", "off | soft_fail | hard_fail",
        "How postern-crypto checks revocation (OCSP, CRLs) of signers and recipient certificates: hard_fail "
        "refuses a certificate whose status cannot be learned, soft_fail accepts it; default: the milter's "
        "setting."},
       K::revocation,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         const std::string_view v = a.is_scalar() ? std::string_view(a.text()) : std::string_view();
         if (v == "off") {
           act.revocation = plan::Revocation::off;
         } else if (v == "soft_fail") {
           act.revocation = plan::Revocation::soft_fail;
         } else if (v == "hard_fail") {
           act.revocation = plan::Revocation::hard_fail;
         } else {
           c.error(a.where(), "revocation is one of: off, soft_fail, hard_fail");
           return false;
         }
         return true;
       }},
      {{"security_tag", "{decrypted: TEXT, signed: TEXT, invalid: TEXT} (any of them)",
        "Put a tag in front of the Subject of mail postern-crypto opened: decrypted, with a valid signature, "
        "or with a signature that is not valid."},
       K::security_tag,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         if (!a.is_map()) {
           c.error(a.where(), "security_tag takes {decrypted: TEXT, signed: TEXT, invalid: TEXT}");
           return false;
         }
         if (!mapping_keys(a, {"decrypted", "signed", "invalid"}, c)) return false;
         const std::pair<const char*, std::string*> keys[] = {{"decrypted", &act.tags.decrypted},
                                                              {"signed", &act.tags.signature_valid},
                                                              {"invalid", &act.tags.signature_invalid}};
         for (const auto& [key, target] : keys) {
           const config::Node* n = a.find(key);
           if (n == nullptr) continue;
           if (!tag_text(*n, *target, c)) return false;
         }
         if (act.tags.empty()) {
           c.error(a.where(), "security_tag needs at least one of: decrypted, signed, invalid");
           return false;
         }
         return true;
       }},
      {{"incamail", "c | p | r", "Send via IncaMail: confidential, personal or registered."},
       K::incamail,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         const auto t = a.is_scalar() ? plan::parse_incamail_type(a.text()) : std::nullopt;
         if (!t || *t == plan::IncaMailType::none) {
           c.error(a.where(), "incamail type is one of: c, p, r");
           return false;
         }
         act.incamail = *t;
         return true;
       }},
      {{"add_header", "{name: NAME, value: TEXT}", "Add a header (printable ASCII value)."},
       K::add_header,
       [](const config::Node& a, Action& act, const CompileContext& c) { return header_field(a, act, c, "add_header"); }},
      {{"remove_header", "NAME", "Remove every header of this name."},
       K::remove_header,
       [](const config::Node& a, Action& act, const CompileContext& c) { return header_name(a, act.text, c); }},
      {{"subject_tag", "text", "Put this text in front of the Subject."},
       K::subject_tag,
       [](const config::Node& a, Action& act, const CompileContext& c) { return tag_text(a, act.text, c); }},
      {{"change_header", "{name: NAME, value: TEXT}",
        "Replace every header of this name by one with this value (added when absent; ends up last)."},
       K::change_header,
       [](const config::Node& a, Action& act, const CompileContext& c) { return header_field(a, act, c, "change_header"); }},
      {{"acknowledge", "text (printable ASCII, line breaks allowed)",
        "Send the envelope sender a notice with this text (not for the null sender)."},
       K::acknowledge,
       [](const config::Node& a, Action& act, const CompileContext& c) { return notice_text(a, act.text, c); }},
      {{"alert", "{to: ADDRESS or list of them, text: TEXT}", "Send the addresses (e.g. an admin) a notice with this text."},
       K::alert,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         if (!a.is_map()) {
           c.error(a.where(), "alert takes {to: ADDRESS or list of them, text: TEXT}");
           return false;
         }
         if (!mapping_keys(a, {"to", "text"}, c)) return false;
         const config::Node* to = a.find("to");
         const config::Node* text = a.find("text");
         if (to == nullptr || text == nullptr) {
           c.error(a.where(), "alert needs both to and text");
           return false;
         }
         const bool ok_to = addresses(*to, act.addresses, c);
         return notice_text(*text, act.text, c) && ok_to;
       }},
      {{"generate_keys", "-", "Ask postern-crypto to make a key pair / certificate for the sender when it has none."},
       K::generate_keys, nullptr},
      {{"redirect", "ADDRESS or list of them", "Deliver to these addresses instead of the recipient."},
       K::redirect,
       [](const config::Node& a, Action& act, const CompileContext& c) { return addresses(a, act.addresses, c); }},
      {{"forward", "ADDRESS or list of them", "Deliver to these addresses as well, with the recipient's plan."},
       K::forward,
       [](const config::Node& a, Action& act, const CompileContext& c) { return addresses(a, act.addresses, c); }},
  };
  return table;
}

}  // namespace

std::unique_ptr<const Condition> compile_when(const config::Node& when, const CompileContext& context) {
  if (!when.is_map()) {
    context.error(when.where(), std::string("`when` takes a mapping of conditions, found a ") +
                                    config::Node::kind_name(when.kind()));
    return nullptr;
  }
  return compile_condition_map(when, context);
}

std::optional<Action> compile_action(const config::Node& item, const CompileContext& context) {
  const config::Node* name = nullptr;
  const config::Node* arg = nullptr;
  if (item.is_scalar()) {
    name = &item;
  } else if (item.is_map() && item.entries().size() == 1) {
    name = &item.entries().front().first;
    arg = &item.entries().front().second;
  } else {
    context.error(item.where(), "an action is a name or a mapping with one key (name: value)");
    return std::nullopt;
  }
  for (const auto& entry : action_table()) {
    if (entry.decl.name != name->text()) continue;
    Action action;
    action.kind = entry.kind;
    action.where = name->where();
    action.yaml = flow_yaml(item);
    if (entry.compile == nullptr) {
      if (arg != nullptr) {
        context.error(arg->where(), "action " + config::quote(name->text()) + " takes no value; write it alone");
        return std::nullopt;
      }
      return action;
    }
    if (arg == nullptr && entry.value_optional) return action;
    if (arg == nullptr) {
      context.error(name->where(), "action " + config::quote(name->text()) + " needs a value: " +
                                       std::string(entry.decl.argument));
      return std::nullopt;
    }
    if (!entry.compile(*arg, action, context)) return std::nullopt;
    return action;
  }
  context.error(name->where(), "unknown action " + config::quote(name->text()) + "; known: " +
                                   known_names(action_declarations()));
  return std::nullopt;
}

std::string render(const config::Node& node) {
  switch (node.kind()) {
    case config::Node::Kind::null:
      return "null";
    case config::Node::Kind::scalar: {
      // Exact (never shortened): the text is also the canonical form that
      // finds shadowed rules. Control characters are escaped to keep one line.
      const bool quote = node.quoted() || node.text().empty();
      std::string text = core::escape_controls(node.text());
      if (!quote) return text;
      std::string out = "'";
      for (char c : text) {
        out += c == '\'' ? std::string("''") : std::string(1, c);
      }
      return out + "'";
    }
    case config::Node::Kind::sequence: {
      std::string out = "[";
      for (const auto& item : node.items()) out += (out.size() > 1 ? ", " : "") + render(item);
      return out + "]";
    }
    case config::Node::Kind::map: {
      std::string out = "{";
      for (const auto& [k, v] : node.entries()) out += (out.size() > 1 ? ", " : "") + k.text() + ": " + render(v);
      return out + "}";
    }
  }
  return {};
}

std::string yaml_scalar(std::string_view text) {
  static constexpr std::string_view kWords[] = {"null", "Null", "NULL", "~"};
  bool plain = !text.empty();
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == '-' || c == '+' || c == '/' || c == '@';
    plain = plain && ok;
  }
  if (plain && (text.front() == '-' || text.front() == '@')) plain = false;
  for (auto w : kWords) plain = plain && text != w;
  if (plain) return std::string(text);
  bool controls = false;
  for (char c : text) controls = controls || static_cast<unsigned char>(c) < 32 || c == 127;
  if (!controls) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  }
  std::string out = "\"";
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 32 || u == 127) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string flow_yaml(const config::Node& node) {
  switch (node.kind()) {
    case config::Node::Kind::null: return "null";
    case config::Node::Kind::scalar: return yaml_scalar(node.text());
    case config::Node::Kind::sequence: {
      std::string out = "[";
      for (const auto& item : node.items()) out += (out.size() > 1 ? ", " : "") + flow_yaml(item);
      return out + "]";
    }
    case config::Node::Kind::map: {
      std::string out = "{";
      for (const auto& [k, v] : node.entries()) {
        out += (out.size() > 1 ? ", " : "") + yaml_scalar(k.text()) + ": " + flow_yaml(v);
      }
      return out + "}";
    }
  }
  return {};
}

}  // namespace postern::policy::detail

namespace postern::policy {

const std::vector<Declaration>& condition_declarations() {
  static const std::vector<Declaration> decls = [] {
    std::vector<Declaration> d;
    for (const auto& e : detail::condition_table()) d.push_back(e.decl);
    return d;
  }();
  return decls;
}

const std::vector<Declaration>& action_declarations() {
  static const std::vector<Declaration> decls = [] {
    std::vector<Declaration> d;
    for (const auto& e : detail::action_table()) d.push_back(e.decl);
    return d;
  }();
  return decls;
}

std::string reference_markdown() {
  auto table = [](std::string_view title, const std::vector<Declaration>& decls) {
    std::string out = "### " + std::string(title) + "\n\n| name | value | meaning |\n|---|---|---|\n";
    for (const auto& d : decls) {
      std::string arg(d.argument);
      std::string escaped;
      for (char ch : arg) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
      out += "| `" + std::string(d.name) + "` | " + escaped + " | " + std::string(d.doc) + " |\n";
    }
    return out;
  };
  return table("Conditions", condition_declarations()) + "\n" + table("Actions", action_declarations());
}

}  // namespace postern::policy

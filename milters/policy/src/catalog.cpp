// The one table of conditions and actions: declarations for docs and errors,
// and the compile functions the loader calls.
#include "postern/policy/catalog.hpp"

#include <charconv>
#include <functional>
#include <initializer_list>

#include "compile.hpp"
#include "postern/config/config.hpp"
#include "postern/core/strings.hpp"

namespace postern::policy::detail {
namespace {

using Seen = std::string;
using Test = std::function<bool(const Subject&, Seen&)>;

class Predicate final : public Condition {
 public:
  Predicate(std::string text, core::Location where, Test test)
      : Condition(std::move(text), std::move(where)), test_(std::move(test)) {}

  bool test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const override {
    Seen seen;
    const bool matched = test_(subject, seen);
    if (trace != nullptr) {
      trace->push_back({text(), where(), depth, matched, std::move(seen)});
    }
    return matched;
  }

 private:
  Test test_;
};

class Combination final : public Condition {
 public:
  enum class Op { all, any, negation };
  Combination(std::string text, core::Location where, Op op, std::vector<std::unique_ptr<const Condition>> parts)
      : Condition(std::move(text), std::move(where)), op_(op), parts_(std::move(parts)) {}

  bool test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const override {
    std::size_t slot = 0;
    if (trace != nullptr) {
      slot = trace->size();
      trace->push_back({text(), where(), depth, false, ""});
    }
    bool result = op_ != Op::any;
    for (const auto& part : parts_) {
      const bool matched = part->test(subject, trace, depth + 1);
      if (op_ == Op::negation) {
        result = !matched;
      } else if (op_ == Op::all && !matched) {
        result = false;
        if (trace == nullptr) break;
      } else if (op_ == Op::any && matched) {
        result = true;
        if (trace == nullptr) break;
      }
    }
    if (trace != nullptr) {
      (*trace)[slot].matched = result;
    }
    return result;
  }

 private:
  Op op_;
  std::vector<std::unique_ptr<const Condition>> parts_;
};

using Compiled = std::unique_ptr<const Condition>;
using ConditionCompiler = Compiled (*)(std::string text, const config::Node& arg, const CompileContext& context);

struct ConditionEntry {
  Declaration decl;
  ConditionCompiler compile;
};

Compiled predicate(std::string text, const config::Node& arg, Test test) {
  return std::make_unique<Predicate>(std::move(text), arg.where(), std::move(test));
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
std::optional<std::vector<std::string>> choices(const config::Node& arg, std::initializer_list<std::string_view> allowed,
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

Compiled address_condition(std::string text, const config::Node& arg, const CompileContext& context, bool sender) {
  const std::size_t before = context.diagnostics.size();
  auto matcher = std::make_shared<const AddressMatcher>(AddressMatcher::compile(arg, context.lists, context.diagnostics));
  if (context.diagnostics.size() != before) return nullptr;
  return predicate(std::move(text), arg, [matcher, sender](const Subject& s, Seen& seen) {
    const std::string& address = sender ? s.sender : s.recipient;
    seen = address.empty() ? "<>" : address;
    return matcher->matches(address);
  });
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
  return predicate(std::move(text), arg, [want, field](const Subject& s, Seen& seen) {
    const Protection p = s.facts.*field;
    seen = to_string(p);
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
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen& seen) {
           seen = std::string(to_string(s.direction)) + " (" + s.direction_reason + ")";
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
         return predicate(std::move(t), a, [nets](const Subject& s, Seen& seen) {
           const auto& ip = s.envelope.client_address;
           seen = ip ? ip->to_string() : "unknown";
           return ip && core::contains_any(nets, *ip);
         });
       }},
      {{"authenticated", "true | false", "The client authenticated with SASL ({auth_authen} set)."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = boolean(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen& seen) {
           const bool authed = !s.envelope.auth_user.empty();
           seen = authed ? "as " + s.envelope.auth_user : "no";
           return authed == want;
         });
       }},
      {{"listener", "name or list of names", "The Postfix service the message came in on ({daemon_name})."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         std::vector<std::string> names;
         for (const config::Node* item : scalar_items(a, c.diagnostics)) names.push_back(item->text());
         if (names.empty()) return nullptr;
         return predicate(std::move(t), a, [names](const Subject& s, Seen& seen) {
           seen = s.envelope.listener;
           return contains(names, s.envelope.listener);
         });
       }},
      {{"size_over", "size (bytes, K, M, G)", "The message is larger than this."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = size(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [limit = *v](const Subject& s, Seen& seen) {
           seen = std::to_string(s.facts.size);
           return s.facts.size > limit;
         });
       }},
      {{"size_under", "size (bytes, K, M, G)", "The message is smaller than this."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = size(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [limit = *v](const Subject& s, Seen& seen) {
           seen = std::to_string(s.facts.size);
           return s.facts.size < limit;
         });
       }},
      {{"priority", "high | normal | low, or list of them",
        "From X-Priority (1-2 high, 3 normal, 4-5 low), else Importance; normal when neither."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"high", "normal", "low"}, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen& seen) {
           seen = to_string(s.facts.priority);
           return contains(v, seen);
         });
       }},
      {{"sensitivity", "personal | private | company-confidential | normal, or list of them",
        "The Sensitivity header; normal when it is absent."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = choices(a, {"personal", "private", "company-confidential", "normal"}, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [v = *v](const Subject& s, Seen& seen) {
           seen = s.facts.sensitivity.empty() ? "normal" : s.facts.sensitivity;
           return contains(v, seen);
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
         return predicate(std::move(t), a, [words](const Subject& s, Seen& seen) {
           seen = s.facts.subject;
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
         return predicate(std::move(t), a, [want = *v](const Subject& s, Seen& seen) {
           seen = s.envelope.tls_version.empty() ? "none" : s.envelope.tls_version;
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
         return predicate(std::move(t), a, [rank = tls_rank(v->front())](const Subject& s, Seen& seen) {
           seen = s.envelope.tls_version.empty() ? "none" : s.envelope.tls_version;
           return tls_rank(s.envelope.tls_version) >= rank;
         });
       }},
      {{"tls_bits_at_least", "number", "The TLS cipher has at least this many bits ({cipher_bits}); false without TLS."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = count(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [bits = *v](const Subject& s, Seen& seen) {
           seen = s.envelope.tls_version.empty() ? "none" : std::to_string(s.envelope.tls_cipher_bits);
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
         return predicate(std::move(t), a, [m](const Subject& s, Seen& seen) {
           bool any = false;
           for (const auto& name : s.facts.attachment_names) {
             seen += (seen.empty() ? "" : ", ") + (name.empty() ? std::string("(no name)") : name);
             any = any || (!name.empty() && m->matches(name));
           }
           if (seen.empty()) seen = "no attachments";
           return any;
         });
       }},
      {{"attachment_count_at_least", "number", "The message has at least this many attachments."},
       [](std::string t, const config::Node& a, const CompileContext& c) -> Compiled {
         const auto v = count(a, c);
         if (!v) return nullptr;
         return predicate(std::move(t), a, [n = *v](const Subject& s, Seen& seen) {
           seen = std::to_string(s.facts.attachment_names.size());
           return s.facts.attachment_names.size() >= n;
         });
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
      {{"discard", "-", "Accept and silently drop the message for the recipient."}, K::discard, nullptr},
      {{"encrypt", "smime | pgp | auto, or {method: ..., fallback: bounce | hold | incamail}",
        "Encrypt for the recipient; without a key or certificate the fallback decides (default bounce)."},
       K::encrypt,
       [](const config::Node& a, Action& act, const CompileContext& c) {
         const config::Node* method = &a;
         if (a.is_map()) {
           if (!mapping_keys(a, {"method", "fallback"}, c)) return false;
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
         }
         const auto m = method->is_scalar() ? plan::parse_encrypt_method(method->text()) : std::nullopt;
         if (!m || *m == plan::EncryptMethod::none) {
           c.error(method->where(), "method is one of: smime, pgp, auto");
           return false;
         }
         act.method = *m;
         return true;
       }},
      {{"sign", "-", "Sign the message."}, K::sign, nullptr},
      {{"decrypt", "-", "Decrypt the message for the recipient."}, K::decrypt, nullptr},
      {{"verify", "-", "Verify the message's signature and record the result."}, K::verify, nullptr},
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
       [](const config::Node& a, Action& act, const CompileContext& c) {
         if (!a.is_map()) {
           c.error(a.where(), "add_header takes {name: NAME, value: TEXT}");
           return false;
         }
         if (!mapping_keys(a, {"name", "value"}, c)) return false;
         const config::Node* name = a.find("name");
         const config::Node* value = a.find("value");
         if (name == nullptr || value == nullptr) {
           c.error(a.where(), "add_header needs both name and value");
           return false;
         }
         return header_name(*name, act.text, c) && ascii_text(*value, act.value, true, c);
       }},
      {{"remove_header", "NAME", "Remove every header of this name."},
       K::remove_header,
       [](const config::Node& a, Action& act, const CompileContext& c) { return header_name(a, act.text, c); }},
      {{"subject_tag", "text", "Put this text in front of the Subject."},
       K::subject_tag,
       [](const config::Node& a, Action& act, const CompileContext& c) {
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
         act.text = a.text();
         return true;
       }},
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
    if (entry.compile == nullptr) {
      if (arg != nullptr) {
        context.error(arg->where(), "action " + config::quote(name->text()) + " takes no value; write it alone");
        return std::nullopt;
      }
      return action;
    }
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

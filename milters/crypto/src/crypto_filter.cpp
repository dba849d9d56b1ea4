#include "postern/crypto/crypto_filter.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"
#include "postern/crypto/header_edit.hpp"
#include "postern/crypto/security_header.hpp"
#include "postern/incamail/recipient_rewriter.hpp"
#include "postern/ldap/directory.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/address.hpp"
#include "postern/mime/body_spool.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/mime/header.hpp"
#include "postern/ossl/certificate.hpp"
#include "postern/ossl/pem_der.hpp"
#include "postern/smime/certs_only.hpp"

namespace postern::crypto {

namespace {

using milter::Actions;
using milter::Verdict;

constexpr std::size_t kBodyChunk = 64 * 1024;
constexpr std::size_t kNamedInReply = 5;

// Transforms share a memory budget. One holds about twice its message
// while it runs (the mapped input and the canonical entity, or the
// decrypted layers), so N concurrent large messages would need 2N times
// their size: a transform waits until its share fits, and one larger
// than the whole budget runs when no other does. Below kUnbudgeted a
// transform is not counted.
constexpr std::size_t kTransformBudget = std::size_t{256} << 20;
constexpr std::size_t kUnbudgeted = std::size_t{1} << 20;

class MemoryBudget {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(MemoryBudget* budget, std::size_t bytes) : budget_(budget), bytes_(bytes) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (budget_ != nullptr) budget_->release(bytes_);
    }

   private:
    MemoryBudget* budget_ = nullptr;
    std::size_t bytes_ = 0;
  };

  // Waits for `bytes`; calls `waiting` every few seconds meanwhile.
  std::unique_ptr<Lease> acquire(std::size_t bytes, const std::function<void()>& waiting) {
    if (bytes < kUnbudgeted) return std::make_unique<Lease>();
    std::unique_lock lock(mutex_);
    const auto fits = [&] { return used_ == 0 || used_ + bytes <= kTransformBudget; };
    while (!freed_.wait_for(lock, std::chrono::seconds(5), fits)) {
      lock.unlock();
      waiting();  // Postfix's content_timeout runs meanwhile
      lock.lock();
    }
    used_ += bytes;
    return std::make_unique<Lease>(this, bytes);
  }

 private:
  void release(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      used_ -= bytes;
    }
    freed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t used_ = 0;
};

MemoryBudget& transform_budget() {
  static MemoryBudget budget;
  return budget;
}

// "<a@example.org>" -> "a@example.org"; other forms as they are.
std::string bare(std::string_view path) {
  if (path.size() >= 2 && path.front() == '<' && path.back() == '>') path = path.substr(1, path.size() - 2);
  return std::string(path);
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ",") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// "a@x, b@y" naming at most kNamedInReply, then "and N more".
std::string named_list(const std::vector<std::string>& items) {
  std::vector<std::string> shown(items.begin(), items.begin() + std::min(items.size(), kNamedInReply));
  std::string out = join(shown, ", ");
  if (items.size() > shown.size()) out += " and " + std::to_string(items.size() - shown.size()) + " more";
  return safe_text(out, 400);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::ConfigError(core::Location{}, path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}


// Puts `tag` in front of the first Subject (or adds one).
void tag_subject(std::vector<Field>& fields, const std::string& tag) {
  for (Field& f : fields) {
    if (!core::iequals(f.name, "Subject")) continue;
    if (auto value = mime::tagged_subject(f.value, tag, "\n")) f.value = std::move(*value);
    return;
  }
  fields.push_back({"Subject", *mime::tagged_subject(std::nullopt, tag, "\n")});
}

smime::Credential credential_of(keystore::SigningIdentity& id) {
  smime::Credential c;
  c.cert = std::move(id.certificate);
  c.key = std::move(id.key);
  if (id.chain) {
    for (int i = 0; i < sk_X509_num(id.chain.get()); ++i) c.chain.push_back(ossl::share(sk_X509_value(id.chain.get(), i)));
  }
  return c;
}

// The Checker runs in soft_fail mode for every plan; its "soft-fail:
// accepted" notes would mislead where a plan's hard_fail applies.
revocation::ChainResult without_notes(revocation::ChainResult rc) {
  for (auto& r : rc.results) r.note.clear();
  return rc;
}

// "OCSP" or "CRL": where a revocation Result came from ("ocsp http://...",
// "crl file NAME").
std::string source_kind(const std::string& source) {
  if (source.rfind("ocsp", 0) == 0) return "OCSP";
  if (source.rfind("crl", 0) == 0) return "CRL";
  return source;
}

// The mode decision for a recipient's certificate: "" when the revocation
// check of its chain (`rc`) lets us encrypt to it under `mode`, else why
// not ("revoked (OCSP): keyCompromise", "issuer CN=... revoked (CRL): ...",
// "revocation status unknown (hard-fail): ..."); the key store puts the
// certificate's fingerprint in front.
std::string refusal_under(const revocation::ChainResult& rc, revocation::Mode mode) {
  for (std::size_t i = 0; i < rc.results.size(); ++i) {
    const revocation::Result& r = rc.results[i];
    if (r.accepted_under(mode)) continue;
    const std::string whose = i == 0 ? std::string() : "issuer " + r.subject + " ";
    if (r.status == revocation::Status::revoked) return whose + "revoked (" + source_kind(r.source) + "): " + r.reason;
    return whose + "revocation status unknown (" + revocation::to_string(mode) + "): " + r.why;
  }
  return {};
}

class CryptoSession final : public milter::Session {
 public:
  explicit CryptoSession(const CryptoFilter& filter) : filter_(filter), settings_(filter.settings()) {}

  Verdict on_mail(const std::vector<std::string>& args, Actions&) override {
    message_ = std::make_unique<Message>();
    message_->sender = args.empty() ? std::string() : args.front();
    return Verdict::proceed();
  }

  Verdict on_rcpt(const std::vector<std::string>& args, Actions&) override {
    if (message_ && !args.empty()) {
      message_->recipients.push_back(args.front());
      message_->rcpt_args.push_back(args);
    }
    return Verdict::proceed();
  }

  Verdict on_header(std::string_view name, std::string_view value, Actions&) override {
    if (!message_) return Verdict::proceed();
    if (core::iequals(name, plan::kPlanHeader)) {
      if (++message_->plan_headers == 1) message_->plan_value = std::string(value);
    } else {
      message_->fields.push_back({std::string(name), std::string(value)});
    }
    return Verdict::proceed();
  }

  Verdict on_eoh(Actions& actions) override;

  Verdict on_body(std::string_view chunk, Actions& actions) override {
    if (!message_ || !message_->spool) return Verdict::skip();
    try {
      message_->spool->append(chunk);
    } catch (const std::exception& e) {
      return transform_failed(actions, "spool", e.what());
    }
    return Verdict::proceed();
  }

  Verdict on_eom(Actions& actions) override;
  void on_abort() override { message_.reset(); }

 private:
  enum class Work { remove_plan, transform, hold };

  struct Message {
    std::string sender;
    std::vector<std::string> recipients;  // as given at RCPT
    std::vector<std::vector<std::string>> rcpt_args;
    std::vector<Field> fields;            // every header but the plan
    int plan_headers = 0;
    std::string plan_value;
    plan::Plan plan;
    Work work = Work::remove_plan;
    std::string hold_reason;
    // Outbound.
    bool sign = false;
    bool encrypt = false;
    std::string signer_address;
    std::optional<smime::Credential> signer;
    std::vector<ossl::X509Ptr> certificates;
    std::vector<std::string> encrypted_for;
    bool all_support_gcm = true;  // every certificate's holder is known to open AES-256-GCM
    // The IncaMail fallback: RCPT argument, new address, its DSN arguments.
    struct Reroute {
      std::string original;
      std::string rewritten;
      std::string args;
    };
    std::vector<Reroute> reroutes;
    // {send_keys}: the certs-only part to attach, "" for none.
    std::string keys_part;
    std::string keys_of;
    // Inbound.
    bool open = false;
    std::string auth_results;  // Authentication-Results value, "" for none
    std::string tag;           // the plan's security tag for what was found
    std::unique_ptr<mime::BodySpool> spool;
  };

  Verdict transform_failed(Actions& actions, std::string_view step, std::string_view why) {
    log::error(actions.queue_id(), "transform_failed",
               {{"from", message_->sender}, {"step", step}, {"error", safe_text(why)}});
    return Verdict::tempfail("451", "4.7.0", "Security transform failed; the message was not sent, try again later");
  }

  // Recipients the plan covers, bare; plus envelope recipients it does
  // not name (never left out of an encryption the plan asked for).
  std::vector<std::string> targets(Actions& actions) const {
    std::vector<std::string> out;
    for (const auto& r : message_->plan.recipients) out.push_back(bare(r));
    for (const auto& r : message_->recipients) {
      const std::string b = bare(r);
      if (std::none_of(out.begin(), out.end(), [&](const std::string& t) { return core::iequals(t, b); })) {
        log::warning(actions.queue_id(), "recipient_not_in_plan", {{"recipient", b}});
        out.push_back(b);
      }
    }
    return out;
  }

  // The From header's single mailbox, else the envelope sender.
  std::string signer_address() const {
    for (const Field& f : message_->fields) {
      if (!core::iequals(f.name, "From")) continue;
      try {
        const auto boxes = mime::parse_address_list(f.value);
        if (boxes.size() == 1) return boxes.front().addr_spec();
      } catch (const mime::AddressError&) {
      }
      break;
    }
    return bare(message_->sender);
  }

  std::optional<Verdict> read_plan(Actions& actions);
  keystore::KeyStore::Veto revocation_veto(const std::string& recipient, const std::string& qid) const;
  std::optional<Verdict> prepare_outbound(Actions& actions);
  std::optional<Verdict> fallback(Actions& actions, const std::vector<std::string>& missing, const std::string& why);
  std::optional<revocation::Mode> revocation_mode() const;
  void check_revocation(smime::SecurityStatus& st, X509_STORE* trust, const std::string& qid) const;
  void open_inbound(std::string_view message, std::optional<std::string>& transformed, std::string& security,
                    const std::string& qid);
  void protect(std::string_view message, const smime::Sink& out);
  std::optional<Verdict> incamail_fallback(Actions& actions, const std::vector<std::string>& missing,
                                           const std::string& why);
  void reroute(Actions& actions);
  // The plan's cipher (a policy rule's encrypt {cipher: ...}) wins; else
  // outbound.cipher, where auto means GCM when every recipient supports it.
  smime::EncryptOptions encrypt_options() const {
    smime::EncryptOptions o = settings_.encrypt;
    switch (message_->plan.cipher) {
      case plan::ContentCipher::gcm: o.cipher = smime::ContentCipher::aes256_gcm; return o;
      case plan::ContentCipher::cbc: o.cipher = smime::ContentCipher::aes256_cbc; return o;
      case plan::ContentCipher::automatic: break;
    }
    if (settings_.cipher_auto && message_->all_support_gcm && !message_->certificates.empty()) {
      o.cipher = smime::ContentCipher::aes256_gcm;
    }
    return o;
  }
  void prepare_send_keys(Actions& actions);

  const CryptoFilter& filter_;
  const Settings& settings_;
  std::unique_ptr<Message> message_;
};

std::optional<Verdict> CryptoSession::read_plan(Actions& actions) {
  const std::string qid = actions.queue_id();
  if (message_->plan_headers > 1) {
    log::warning(qid, "plan_refused",
                 {{"from", message_->sender}, {"reason", "several"}, {"count", message_->plan_headers}});
    return Verdict::tempfail("451", "4.7.0", "Security: the message carries more than one policy plan");
  }
  plan::Verdict v = filter_.sealer().verify(message_->plan_value, plan::Sealer::Clock::now());
  if (!v.ok()) {
    log::warning(qid, "plan_refused", {{"from", message_->sender}, {"reason", plan::to_string(v.refusal)}});
    return Verdict::tempfail("451", "4.7.0", "Security: the message's policy plan cannot be trusted");
  }
  message_->plan = std::move(v.plan.plan);
  return std::nullopt;
}

std::optional<Verdict> CryptoSession::fallback(Actions& actions, const std::vector<std::string>& missing,
                                               const std::string& why) {
  const std::string qid = actions.queue_id();
  const std::string method = plan::to_string(message_->plan.encrypt);
  switch (message_->plan.fallback) {
    case plan::EncryptFallback::bounce:
      log::info(qid, "bounced",
                {{"from", message_->sender}, {"encrypt", method}, {"missing", join(missing)}, {"why", why}});
      return Verdict::reject("550", "5.7.1",
                             "Policy requires encryption, but there is no usable " +
                                 std::string(message_->plan.encrypt == plan::EncryptMethod::pgp ? "OpenPGP key"
                                                                                                : "S/MIME certificate") +
                                 " for " + named_list(missing) + "; the message was not sent");
    case plan::EncryptFallback::hold:
      message_->work = Work::hold;
      message_->hold_reason = "postern-crypto: encryption required, no usable key for " + named_list(missing);
      log::info(qid, "held", {{"from", message_->sender}, {"encrypt", method}, {"missing", join(missing)}, {"why", why}});
      return std::nullopt;
    case plan::EncryptFallback::incamail: return incamail_fallback(actions, missing, why);
  }
  return Verdict::tempfail("451", "4.7.0", "Security: unknown fallback");
}

// The plan covers the whole transaction, and one body cannot be both
// S/MIME-encrypted and readable by IncaMail: every recipient goes via
// IncaMail (local@domain.incamail.ch), which encrypts on the way, and
// nothing is S/MIME-encrypted. A recipient IncaMail cannot take refuses the
// message: it must never get the plaintext directly.
std::optional<Verdict> CryptoSession::incamail_fallback(Actions& actions, const std::vector<std::string>& missing,
                                                        const std::string& why) {
  Message& m = *message_;
  const incamail::RecipientRewriter rewriter{incamail::DomainList{}};
  std::vector<Message::Reroute> reroutes;
  std::vector<std::string> routed;
  for (const auto& args : m.rcpt_args) {
    const incamail::Recipient r = rewriter.classify(args.front());
    switch (r.kind) {
      case incamail::Recipient::Kind::external:
        reroutes.push_back({args.front(), r.rewritten, incamail::dsn_args(args, r.address)});
        routed.push_back(r.rewritten);
        break;
      case incamail::Recipient::Kind::incamail: routed.push_back("<" + r.address + ">"); break;
      case incamail::Recipient::Kind::internal:
      case incamail::Recipient::Kind::bare_incamail:
      case incamail::Recipient::Kind::unusable: {
        const milter::Reply reply = r.refusal.value_or(
            milter::Reply{"550", "5.7.1", "Policy requires encryption; " + safe_text(bare(args.front()), 254) +
                                              " cannot be sent via IncaMail"});
        log::info(actions.queue_id(), "bounced",
                  {{"from", m.sender}, {"encrypt", plan::to_string(m.plan.encrypt)}, {"fallback", "incamail"},
                   {"missing", join(missing)}, {"unroutable", bare(args.front())}});
        return Verdict::reject(reply.code, reply.xcode, reply.text);
      }
    }
  }
  m.reroutes = std::move(reroutes);
  m.encrypt = false;
  m.certificates.clear();
  m.encrypted_for.clear();
  log::info(actions.queue_id(), "incamail_fallback",
            {{"from", m.sender}, {"missing", join(missing)}, {"routed", join(routed)}, {"why", why}});
  return std::nullopt;
}

void CryptoSession::reroute(Actions& actions) {
  for (const auto& r : message_->reroutes) {
    actions.delete_recipient(r.original);
    actions.add_recipient(r.rewritten, r.args);
  }
}

// Refuses a recipient certificate whose chain is revoked (or, under
// hard_fail, of unknown status): the store then offers its next usable one.
keystore::KeyStore::Veto CryptoSession::revocation_veto(const std::string& recipient, const std::string& qid) const {
  const revocation::Checker* checker = filter_.revocation();
  const std::optional<revocation::Mode> mode = revocation_mode();
  if (checker == nullptr || !mode) return nullptr;
  return [this, checker, mode = *mode, recipient, qid](X509* cert, STACK_OF(X509) * chain) {
    const revocation::ChainResult rc = without_notes(checker->check_chain(chain));
    std::string refusal = refusal_under(rc, mode);
    const std::string fp = ossl::sha256_fingerprint(cert).substr(0, 16);
    if (!refusal.empty()) {
      log::warning(qid, "revocation", {{"from", message_->sender}, {"recipient", recipient}, {"certificate", fp},
                                       {"result", safe_text(rc.text())}, {"action", "not-used"}});
    } else if (std::any_of(rc.results.begin(), rc.results.end(),
                           [](const revocation::Result& r) { return r.status != revocation::Status::good; })) {
      log::info(qid, "revocation", {{"from", message_->sender}, {"recipient", recipient}, {"certificate", fp},
                                    {"result", safe_text(rc.text())}, {"action", "soft-fail"}});
    }
    return refusal;
  };
}

std::optional<Verdict> CryptoSession::prepare_outbound(Actions& actions) {
  const std::string qid = actions.queue_id();
  Message& m = *message_;
  const plan::Plan& p = m.plan;
  m.sign = p.sign;
  m.encrypt = p.encrypt != plan::EncryptMethod::none;
  if (m.encrypt) {
    const std::vector<std::string> rcpts = targets(actions);
    bool rcpts_done = false;
    if (p.encrypt == plan::EncryptMethod::pgp) {
      log::warning(qid, "openpgp_not_built", {{"from", m.sender}, {"recipients", join(rcpts)}});
      auto refusal = fallback(actions, rcpts, "OpenPGP is not built yet");
      if (refusal || m.work == Work::hold) return refusal;
      rcpts_done = true;
    }
    std::vector<std::string> missing;
    std::vector<std::string> reasons;
    for (const std::string& r : rcpts_done ? std::vector<std::string>{} : rcpts) {
      auto sel = filter_.store().select_encryption_certificate(r, revocation_veto(r, qid));
      if (!sel.best && !sel.lookup_error.empty()) {
        // Not "no certificate": the directory may hold one. Try again later
        // rather than bounce or hold.
        log::error(qid, "ldap_lookup_failed",
                   {{"from", m.sender}, {"recipient", r}, {"error", safe_text(sel.lookup_error)}});
        return Verdict::tempfail("451", "4.7.0",
                                 "Security: the certificate directory cannot be reached; try again later");
      }
      if (!sel.best) {
        missing.push_back(r);
        reasons.push_back(r + ": " + sel.why_none());
        continue;
      }
      if (!sel.best->origin.empty()) {
        log::info(qid, "certificate_found", {{"recipient", r}, {"origin", sel.best->origin},
                                             {"fingerprint", sel.best->fingerprint.substr(0, 16)}});
      }
      m.all_support_gcm = m.all_support_gcm && sel.best->supports_gcm;
      m.certificates.push_back(std::move(sel.best->certificate));
      m.encrypted_for.push_back(r);
    }
    if (!missing.empty()) {
      auto refusal = fallback(actions, missing, join(reasons, "; "));
      if (refusal || m.work == Work::hold) return refusal;
      // The IncaMail fallback: on without S/MIME encryption.
    }
  }
  if (m.sign) {
    m.signer_address = signer_address();
    auto sel = filter_.store().select_signing_identity(m.signer_address);
    if (!sel.best) {
      log::error(qid, "no_signing_key",
                 {{"from", m.sender}, {"signer", m.signer_address}, {"why", sel.why_none()},
                  {"fix", "import a certificate with its key for the sender (posternctl keys import) or change the "
                          "policy rule"}});
      return Verdict::tempfail("451", "4.7.0",
                               "Security: policy requires a signature but there is no signing key for " +
                                   safe_text(m.signer_address, 254) + " (configuration problem)");
    }
    m.signer = credential_of(*sel.best);
  }
  return std::nullopt;
}

// The sender's certificates with their CA chain up to the anchor: the
// signing certificate, the encryption certificate when it is another one,
// the intermediates, the trust anchor.
std::vector<ossl::X509Ptr> sender_certificates(const keystore::KeyStore& store, keystore::SigningIdentity& id,
                                               std::string_view address) {
  std::vector<ossl::X509Ptr> out;
  out.push_back(ossl::share(id.certificate.get()));
  auto enc = store.select_encryption_certificate(address);
  if (enc.best && enc.best->fingerprint != id.fingerprint) out.push_back(std::move(enc.best->certificate));
  const int n = id.chain ? sk_X509_num(id.chain.get()) : 0;
  for (int i = 0; i < n; ++i) out.push_back(ossl::share(sk_X509_value(id.chain.get(), i)));
  ossl::X509StorePtr trust = store.verification_store();
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (trust && ctx && X509_STORE_CTX_init(ctx.get(), trust.get(), id.certificate.get(), id.chain.get()) == 1 &&
      X509_verify_cert(ctx.get()) == 1) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    const int len = chain != nullptr ? sk_X509_num(chain) : 0;
    if (len > 1) out.push_back(ossl::share(sk_X509_value(chain, len - 1)));
  }
  return out;
}

// {send_keys} (a plan's send_keys, from a command postern-policy honoured):
// the sender's certificates become a certs-only attachment, added before
// any signing or encryption. A convenience: when it cannot be done the
// message goes on without it, with a warning.
void CryptoSession::prepare_send_keys(Actions& actions) {
  const std::string qid = actions.queue_id();
  Message& m = *message_;
  const plan::SendKeys k = m.plan.send_keys;
  const std::string address = signer_address();
  if (k == plan::SendKeys::pgp || k == plan::SendKeys::all) {
    log::warning(qid, "openpgp_not_built", {{"from", m.sender}, {"sender", address}, {"step", "send_keys"}});
  }
  if (k == plan::SendKeys::pgp) return;
  try {
    auto sel = filter_.store().select_signing_identity(address);
    if (!sel.best) {
      log::warning(qid, "send_keys_skipped", {{"from", m.sender}, {"sender", address}, {"why", sel.why_none()}});
      return;
    }
    const std::vector<ossl::X509Ptr> certs = sender_certificates(filter_.store(), *sel.best, address);
    std::vector<X509*> raw;
    for (const auto& c : certs) raw.push_back(c.get());
    m.keys_part = smime::certs_only_part(raw);
    m.keys_of = address;
  } catch (const std::exception& e) {
    log::warning(qid, "send_keys_skipped", {{"from", m.sender}, {"sender", address}, {"why", safe_text(e.what())}});
  }
}

Verdict CryptoSession::on_eoh(Actions& actions) {
  if (!message_) return Verdict::accept();
  if (message_->plan_headers == 0) {
    // Nothing was planned for this message: Postfix skips this milter for
    // the rest of it, body included.
    return Verdict::accept();
  }
  try {
    if (auto refusal = read_plan(actions)) return *refusal;
    const plan::Plan& p = message_->plan;
    message_->open = p.decrypt || p.verify;
    const bool outbound = p.sign || p.encrypt != plan::EncryptMethod::none;
    if (outbound) {
      if (auto refusal = prepare_outbound(actions)) return *refusal;
    }
    if (message_->work == Work::hold) return Verdict::proceed();
    if (p.send_keys != plan::SendKeys::none) prepare_send_keys(actions);
    // Nothing to do to the body: only the plan header goes (and recipients
    // are rerouted for the IncaMail fallback).
    if (!message_->sign && !message_->encrypt && !message_->open && message_->keys_part.empty()) {
      return Verdict::proceed();
    }
    message_->work = Work::transform;
    mime::SpoolOptions options;
    options.memory_limit = settings_.spool_memory_limit;
    options.directory = settings_.spool_directory;
    message_->spool = std::make_unique<mime::BodySpool>(options);
    message_->spool->append(header_block(message_->fields));
  } catch (const keystore::KeyStoreError& e) {
    log::error(actions.queue_id(), "keystore_failed", {{"from", message_->sender}, {"error", safe_text(e.what())}});
    return Verdict::tempfail("451", "4.7.0", "Security: the key store cannot be read; try again later");
  } catch (const std::exception& e) {
    return transform_failed(actions, "prepare", e.what());
  }
  return Verdict::proceed();
}

// The plan's revocation choice (a policy rule's `revocation` action), else
// the milter's revocation.mode; nullopt: no checking beyond the store's CRLs.
std::optional<revocation::Mode> CryptoSession::revocation_mode() const {
  switch (message_->plan.revocation) {
    case plan::Revocation::off: return std::nullopt;
    case plan::Revocation::soft_fail: return revocation::Mode::soft_fail;
    case plan::Revocation::hard_fail: return revocation::Mode::hard_fail;
    case plan::Revocation::inherit: break;
  }
  return settings_.revocation;
}

// A signature that verified is only valid when its chain is not revoked:
// OCSP or CRLs (common/revocation), under soft or hard fail.
void CryptoSession::check_revocation(smime::SecurityStatus& st, X509_STORE* trust, const std::string& qid) const {
  const revocation::Checker* checker = filter_.revocation();
  const std::optional<revocation::Mode> mode = revocation_mode();
  if (checker == nullptr || !mode) return;
  std::vector<X509*> carried;
  carried.reserve(st.certificates.size());
  for (const auto& c : st.certificates) carried.push_back(c.get());
  for (auto& sig : st.signatures) {
    if (sig.verdict != smime::Verdict::valid || !sig.signer) continue;
    const revocation::ChainResult rc = without_notes(checker->check_path(sig.signer.get(), trust, carried));
    if (!rc.accepted_under(*mode)) {
      sig.verdict = smime::Verdict::revoked;
      sig.reason = refusal_under(rc, *mode);
      log::warning(qid, "revocation", {{"signer", safe_text(sig.signer_id)}, {"result", safe_text(rc.text())},
                                       {"action", "invalid"}});
    } else if (std::any_of(rc.results.begin(), rc.results.end(),
                           [](const revocation::Result& r) { return r.status != revocation::Status::good; })) {
      log::info(qid, "revocation", {{"signer", safe_text(sig.signer_id)}, {"result", safe_text(rc.text())},
                                    {"action", "soft-fail"}});
    }
  }
}

void CryptoSession::open_inbound(std::string_view message, std::optional<std::string>& transformed,
                                 std::string& security, const std::string& qid) {
  Message& m = *message_;
  std::vector<smime::Credential> keys;
  smime::OpenOptions options;
  if (m.plan.decrypt) {
    const std::vector<std::string> rcpts = [&] {
      std::vector<std::string> out;
      for (const auto& r : m.plan.recipients) out.push_back(bare(r));
      for (const auto& r : m.recipients) {
        const std::string b = bare(r);
        if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
      }
      return out;
    }();
    keys.reserve(rcpts.size());
    for (const auto& r : rcpts) {
      for (auto& id : filter_.store().decryption_identities(r)) {
        smime::Credential c;
        c.cert = std::move(id.certificate);
        c.key = std::move(id.key);
        keys.push_back(std::move(c));
      }
    }
    for (const auto& k : keys) options.keys.push_back(&k);
    if (const smime::Credential* org = filter_.organisation()) options.keys.push_back(org);
  }
  ossl::X509StorePtr trust = filter_.store().verification_store();
  options.trust = trust.get();
  // Signatures stay for the reader's client unless the plan removes them.
  options.keep_signed_layers = !m.plan.remove_signature;
  smime::Opened opened = smime::open_message(message, options);
  smime::SecurityStatus& st = opened.status;
  check_revocation(st, trust.get(), qid);
  security = security_value(st);
  if (settings_.authentication_results) m.auth_results = authentication_results_value(st, settings_.authserv_id);
  m.tag = security_tag(st, m.plan.security_tags);
  // A decrypted message is replaced, and a signed one when the plan takes
  // the signature off; a failure leaves the message as it came.
  if (st.failure == smime::Failure::none && st.layers > 0 && (st.encrypted || m.plan.remove_signature)) {
    transformed = std::move(opened.message);
  }

  int harvested = 0;
  if (m.plan.verify && settings_.harvest) {
    for (const auto& sig : st.signatures) {
      if (sig.verdict != smime::Verdict::valid || !sig.address_matches || !sig.signer) continue;
      try {
        if (filter_.store().harvest(sig.signer.get(), "harvest:" + qid, sig.capabilities)) ++harvested;
      } catch (const std::exception& e) {
        log::warning(qid, "harvest_failed", {{"signer", safe_text(sig.signer_id)}, {"error", safe_text(e.what())}});
      }
    }
  }
  const bool failed = st.failure != smime::Failure::none && st.failure != smime::Failure::not_protected;
  const std::string header = security.substr(1);
  if (failed) {
    log::warning(qid, "not_opened",
                 {{"from", m.sender}, {"security", header}, {"detail", safe_text(st.detail)}, {"action", "unchanged"}});
  } else {
    log::info(qid, "opened", {{"from", m.sender}, {"security", header}, {"harvested", harvested}});
  }
}

void CryptoSession::protect(std::string_view message, const smime::Sink& out) {
  Message& m = *message_;
  std::vector<X509*> recipients;
  for (const auto& c : m.certificates) recipients.push_back(c.get());
  if (m.sign && m.encrypt) {
    smime::sign_and_encrypt_message_to(out, message, *m.signer, recipients, settings_.sign, encrypt_options());
  } else if (m.sign) {
    out(smime::sign_message(message, *m.signer, settings_.sign));
  } else {
    smime::encrypt_message_to(out, message, recipients, encrypt_options());
  }
}

// A transformed message on its way to Postfix as it is made: its header
// block is collected until the blank line and handed to `on_header` (the
// header changes, which must come first), then the body goes out in
// kBodyChunk pieces. Nothing the size of the message is held.
class BodyStream {
 public:
  BodyStream(Actions& actions, std::function<void(std::string_view)> on_header)
      : actions_(actions), on_header_(std::move(on_header)) {}

  void write(std::string_view bytes) {
    if (!header_done_) {
      // Only the header block is collected: up to the first empty line.
      std::size_t end = std::string_view::npos;
      for (std::size_t i = 0; i < bytes.size() && end == std::string_view::npos; ++i) {
        if (bytes[i] == '\n' && (last_ == '\n' || (last_ == '\r' && before_last_ == '\n'))) end = i + 1;
        before_last_ = last_;
        last_ = bytes[i];
      }
      header_ += bytes.substr(0, end);
      if (end == std::string_view::npos) return;
      const mime::HeaderBlock block = mime::HeaderBlock::parse(header_);
      if (block.end() != mime::HeaderBlock::End::blank_line || block.consumed() != header_.size()) {
        throw std::runtime_error("the transformed message has no header block");
      }
      header_done_ = true;
      on_header_(header_);
      bytes.remove_prefix(end);
    }
    for (; pending_.empty() && bytes.size() >= kBodyChunk; bytes.remove_prefix(kBodyChunk)) {
      actions_.replace_body(bytes.substr(0, kBodyChunk));  // a large piece, not copied
      sent_ = true;
    }
    pending_ += bytes;
    if (pending_.size() >= kBodyChunk) send(false);
  }

  void finish() {
    if (!header_done_) throw std::runtime_error("the transformed message has no header block");
    send(true);
  }

 private:
  // Whole chunks; with `all` the rest too (an empty body once).
  void send(bool all) {
    std::string_view rest = pending_;
    for (; rest.size() >= kBodyChunk; rest.remove_prefix(kBodyChunk)) {
      actions_.replace_body(rest.substr(0, kBodyChunk));
      sent_ = true;
    }
    if (all && (!rest.empty() || !sent_)) {
      actions_.replace_body(rest);
      sent_ = true;
      rest = {};
    }
    pending_.erase(0, pending_.size() - rest.size());
  }

  Actions& actions_;
  std::function<void(std::string_view)> on_header_;
  std::string header_;
  char last_ = '\n';  // as if a line had just ended
  char before_last_ = '\0';
  bool header_done_ = false;
  std::string pending_;
  bool sent_ = false;
};

Verdict CryptoSession::on_eom(Actions& actions) {
  if (!message_ || message_->plan_headers == 0) return Verdict::proceed();
  Message& m = *message_;
  const std::string qid = actions.queue_id();
  const bool outbound = m.sign || m.encrypt;
  try {
    if (m.work != Work::transform) {
      actions.change_header(plan::kPlanHeader, 1, std::nullopt);
      reroute(actions);
      if (m.work == Work::hold) actions.quarantine(m.hold_reason);
      if (m.work == Work::remove_plan) log::debug(qid, "plan_removed", {{"from", m.sender}});
      return Verdict::proceed();
    }
    const auto lease = transform_budget().acquire(2 * m.spool->size(), [&] { actions.progress(); });
    const mime::BodySpool::View view = m.spool->view();
    std::optional<std::string> transformed;
    std::string security;
    // Each step can take seconds on big mail: restart Postfix's
    // content_timeout clock before it.
    if (m.open) {
      actions.progress();
      open_inbound(view.bytes(), transformed, security, qid);
    }
    if (!m.keys_part.empty()) {
      transformed = smime::attach_part(transformed ? std::string_view(*transformed) : view.bytes(), m.keys_part);
      log::info(qid, "keys_attached", {{"from", m.sender}, {"sender", m.keys_of}, {"format", "smime"}});
    }
    // Header changes first: Postfix refuses other changes between body chunks.
    const auto change_headers = [&](std::vector<Field> after) {
      if (m.open) {
        std::erase_if(after, [&](const Field& f) {
          return core::iequals(f.name, kSecurityHeader) ||
                 (settings_.authentication_results && core::iequals(f.name, "Authentication-Results") &&
                  is_smime_result(f.value, settings_.authserv_id));
        });
        after.push_back({std::string(kSecurityHeader), security});
        if (!m.auth_results.empty()) after.push_back({"Authentication-Results", m.auth_results});
        if (!m.tag.empty()) tag_subject(after, m.tag);
      }
      actions.change_header(plan::kPlanHeader, 1, std::nullopt);
      apply_header_changes(m.fields, after, actions);
      reroute(actions);
    };
    BodyStream stream(actions, [&](std::string_view header) { change_headers(fields_of(header)); });
    if (outbound) {
      actions.progress();
      // The protected message goes to Postfix as it is made; a failure
      // part way is a tempfail, and Postfix then drops every change.
      protect(transformed ? std::string_view(*transformed) : view.bytes(),
              [&](std::string_view bytes) { stream.write(bytes); });
      stream.finish();
    } else if (transformed) {
      stream.write(*transformed);
      stream.finish();
    } else {
      change_headers(m.fields);
    }
    if (outbound) {
      log::info(qid, m.encrypt ? "encrypted" : "signed",
                {{"from", m.sender},
                 {"signed", m.sign ? m.signer_address : std::string("no")},
                 {"recipients", m.encrypt ? join(m.encrypted_for) : std::string("-")},
                 {"cipher", encrypt_options().cipher == smime::ContentCipher::aes256_gcm ? "aes256-gcm" : "aes256-cbc"},
                 {"size", static_cast<std::int64_t>(m.spool->size())}});
    }
  } catch (const smime::Error& e) {
    return transform_failed(actions, smime::to_string(e.failure()), e.what());
  } catch (const std::exception& e) {
    return transform_failed(actions, outbound ? "protect" : "open", e.what());
  }
  return Verdict::proceed();
}

}  // namespace

CryptoFilter::CryptoFilter(Settings settings) : settings_(std::move(settings)) {
  plan::Sealer::Options options;
  options.max_age = settings_.plan_max_age;
  sealer_ = std::make_unique<plan::Sealer>(plan::Secret::load(settings_.plan_secret_file), options);
  store_ = std::make_shared<keystore::KeyStore>(settings_.keystore_root);
  if (settings_.ldap.enabled()) {
    // Does not connect: a directory that is down fails lookups (tempfail), not the start.
    auto directory = std::make_shared<const ldap::Directory>(settings_.ldap);
    store_->set_external_source(
        {"ldap", [directory](std::string_view address) { return directory->certificates(address); }});
  }
  {
    // Always there: a policy rule may ask for checking when the milter's
    // setting is off. It runs in soft_fail mode, which checks the whole
    // chain, and each plan's mode is applied to its answers.
    revocation::Settings rs;
    rs.mode = revocation::Mode::soft_fail;
    rs.crl_directory = std::filesystem::path(settings_.keystore_root) / "crls";
    rs.http.request_timeout = settings_.revocation_timeout;
    rs.max_fetches_per_check = 2;
    revocation_ = std::make_unique<revocation::Checker>(std::move(rs));
  }
  if (!settings_.organisation_certificate.empty()) {
    smime::Credential org;
    try {
      auto certs = ossl::read_certificates(read_file(settings_.organisation_certificate));
      if (certs.empty()) throw std::runtime_error("no certificate in the file");
      org.cert = std::move(certs.front());
      for (std::size_t i = 1; i < certs.size(); ++i) org.chain.push_back(std::move(certs[i]));
      org.key = ossl::read_private_key(read_file(settings_.organisation_key));
      if (!org.key || !ossl::key_matches(org.cert.get(), org.key.get())) {
        throw std::runtime_error("the key does not fit the certificate");
      }
    } catch (const core::ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      throw core::ConfigError(core::Location{}, "inbound.organisation_certificate / organisation_key: " +
                                                    std::string(e.what()));
    }
    organisation_ = std::move(org);
  }
}

milter::Capabilities CryptoFilter::capabilities() const {
  milter::Capabilities c;
  c.envfrom = {.wanted = true, .may_reply = false};
  c.envrcpt = {.wanted = true, .may_reply = false};
  c.header = {.wanted = true, .may_reply = false};
  c.eoh = {.wanted = true, .may_reply = true};
  c.body = {.wanted = true, .may_reply = true};
  c.add_headers = true;
  c.change_headers = true;
  c.change_body = true;
  c.quarantine = true;
  c.add_recipients = true;
  c.delete_recipients = true;
  return c;
}

std::unique_ptr<milter::Session> CryptoFilter::open_session() const { return std::make_unique<CryptoSession>(*this); }

std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config) {
  return std::make_shared<const CryptoFilter>(Settings::from(*config));
}

}  // namespace postern::crypto

// The only file that includes libspf2. See checker.hpp for why each hook
// exists; the comments here say how libspf2 is driven.
#include "postern/spf/checker.hpp"

#include <arpa/inet.h>
#include <netdb.h>

extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
}

#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "postern/core/c_unique.hpp"
#include "postern/core/strings.hpp"
#include "postern/log/log.hpp"
#include "postern/spf/record.hpp"

namespace postern::spf {
namespace {

using Server = core::CUnique<SPF_server_t, &SPF_server_free>;
using Request = core::CUnique<SPF_request_t, &SPF_request_free>;
using Response = core::CUnique<SPF_response_t, &SPF_response_free>;
using CompiledRecord = core::CUnique<SPF_record_t, &SPF_record_free>;

// Everything one check_host() run needs beside libspf2's own request.
struct CheckContext {
  const Resolver* resolver = nullptr;
  const Limits* limits = nullptr;
  core::IpAddress client;
  Scope scope = Scope::mfrom;
  Clock::time_point deadline;
  int fetches = 0;        // record fetches: the first is the checked domain
  int lookups = 0;
  int voids = 0;
  bool saw_temp_error = false;
  std::optional<Result> forced;  // a verdict our layer reached; libspf2's is ignored
  std::optional<Result> top;     // the checked domain had no usable record
  std::string problem;
  std::deque<std::string> pending;  // MX/PTR targets whose address lookups follow
};

thread_local CheckContext* t_context = nullptr;

void force(CheckContext& ctx, Result result, std::string problem) {
  if (!ctx.forced) {
    ctx.forced = result;
    ctx.problem = std::move(problem);
  }
}

[[noreturn]] void on_spf_error(const char* file, int line, const char* message) {
  log::error("", "libspf2-internal-error",
             {{"file", file != nullptr ? file : "?"}, {"line", line}, {"error", message != nullptr ? message : ""}});
  std::abort();
}
void on_spf_message(const char*, int, const char* message) {
  log::debug("", "libspf2", {{"message", message != nullptr ? message : ""}});
}

std::optional<DnsType> dns_type(ns_type type) {
  switch (type) {
    case ns_t_a: return DnsType::a;
    case ns_t_aaaa: return DnsType::aaaa;
    case ns_t_mx: return DnsType::mx;
    case ns_t_txt: return DnsType::txt;
    case ns_t_ptr: return DnsType::ptr;
    default: return std::nullopt;
  }
}

SPF_dns_rr_t* to_rr(SPF_dns_server_t* server, const char* domain, ns_type type, const DnsAnswer& answer) {
  int herrno = NETDB_SUCCESS;
  switch (answer.status) {
    case DnsStatus::found: herrno = NETDB_SUCCESS; break;
    case DnsStatus::no_data: herrno = NO_DATA; break;
    case DnsStatus::nxdomain: herrno = HOST_NOT_FOUND; break;
    case DnsStatus::temp_error: herrno = TRY_AGAIN; break;
  }
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, static_cast<int>(answer.ttl), herrno);
  if (rr == nullptr || answer.status != DnsStatus::found) {
    return rr;
  }
  int n = 0;
  const auto put = [&](const void* data, std::size_t size) {
    if (SPF_dns_rr_buf_realloc(rr, n, size) != SPF_E_SUCCESS) {
      return;
    }
    std::memcpy(rr->rr[n], data, size);
    ++n;
  };
  for (const auto& address : answer.addresses) {
    if (type == ns_t_a && address.is_v4()) {
      put(address.bytes().data(), sizeof(in_addr));
    } else if (type == ns_t_aaaa && !address.is_v4()) {
      put(address.bytes().data(), sizeof(in6_addr));
    }
  }
  for (const auto& name : answer.names) {
    put(name.c_str(), name.size() + 1);
  }
  for (const auto& text : answer.texts) {
    put(text.c_str(), text.size() + 1);
  }
  rr->num_rr = n;
  return rr;
}

bool is_void(const DnsAnswer& a) { return a.status == DnsStatus::no_data || a.status == DnsStatus::nxdomain; }

// Counts a DNS-querying term; false (and a forced permerror) past the limit.
bool count_lookup(CheckContext& ctx) {
  if (++ctx.lookups > ctx.limits->max_lookups) {
    force(ctx, Result::permerror, "more than " + std::to_string(ctx.limits->max_lookups) + " dns lookups");
    return false;
  }
  return true;
}

DnsAnswer ask(CheckContext& ctx, std::string_view name, DnsType type) {
  if (Clock::now() >= ctx.deadline) {
    force(ctx, Result::temperror, "time budget spent");
    return DnsAnswer::temporary("time budget spent");
  }
  DnsAnswer answer = ctx.resolver->lookup(name, type, ctx.deadline);
  if (answer.status == DnsStatus::temp_error) {
    ctx.saw_temp_error = true;
    if (ctx.problem.empty()) {
      ctx.problem = "dns " + std::string(to_string(type)) + " " + std::string(name) + ": " + answer.reason;
    }
  }
  return answer;
}

void count_void(CheckContext& ctx, const DnsAnswer& answer) {
  if (is_void(answer) && ++ctx.voids > ctx.limits->max_void_lookups) {
    force(ctx, Result::permerror, "more than " + std::to_string(ctx.limits->max_void_lookups) + " void lookups");
  }
}

// An exists: on a marker name (record.hpp render): "does NAME have an AAAA",
// or "does any MX host of NAME have an A/AAAA". Answered as an A record.
std::optional<DnsAnswer> marker_answer(CheckContext& ctx, std::string_view name) {
  DnsType family = DnsType::a;
  bool via_mx = false;
  std::string_view base;
  if (core::iends_with(name, kAnyAaaaMarker)) {
    base = name.substr(0, name.size() - kAnyAaaaMarker.size());
    family = DnsType::aaaa;
  } else if (core::iends_with(name, kMxAMarker)) {
    base = name.substr(0, name.size() - kMxAMarker.size());
    via_mx = true;
  } else if (core::iends_with(name, kMxAaaaMarker)) {
    base = name.substr(0, name.size() - kMxAaaaMarker.size());
    family = DnsType::aaaa;
    via_mx = true;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> hosts{std::string(base)};
  if (via_mx) {
    DnsAnswer mx = ask(ctx, base, DnsType::mx);
    count_void(ctx, mx);
    if (mx.status == DnsStatus::temp_error) {
      return mx;
    }
    if (mx.names.size() > 10) {
      force(ctx, Result::permerror, "more than 10 mx records");
      return DnsAnswer::temporary("mx limit");
    }
    hosts = mx.names;
  }
  DnsAnswer result;
  result.status = DnsStatus::no_data;
  for (const auto& host : hosts) {
    DnsAnswer a = ask(ctx, host, family);
    if (!via_mx) {
      count_void(ctx, a);
    }
    if (a.status == DnsStatus::temp_error) {
      return a;
    }
    if (a.status == DnsStatus::found) {
      result.status = DnsStatus::found;
      result.addresses.push_back(core::IpAddress::v4(0x7f000001));
      break;
    }
  }
  return result;
}

SPF_dns_rr_t* lookup_hook(SPF_dns_server_t* server, const char* domain, ns_type type, int) noexcept {
  CheckContext* ctx = t_context;
  const auto failed = [&] {
    DnsAnswer a = DnsAnswer::temporary("stopped");
    return to_rr(server, domain, type, a);
  };
  try {
    const auto dt = dns_type(type);
    if (ctx == nullptr || ctx->forced || domain == nullptr) {
      return failed();
    }
    if (!dt) {
      DnsAnswer none;
      none.status = DnsStatus::no_data;
      return to_rr(server, domain, type, none);
    }
    const std::string_view name(domain);
    if (*dt == DnsType::txt) {
      return to_rr(server, domain, type, ask(*ctx, name, *dt));  // explanation text: not a term
    }
    if ((*dt == DnsType::a || *dt == DnsType::aaaa) && !ctx->pending.empty() &&
        core::iequals(ctx->pending.front(), core::trim(name))) {
      ctx->pending.pop_front();  // an address of an MX or PTR target: part of that term
      return to_rr(server, domain, type, ask(*ctx, name, *dt));
    }
    ctx->pending.clear();
    if (!count_lookup(*ctx)) {
      return failed();
    }
    if (*dt == DnsType::a) {
      if (auto answer = marker_answer(*ctx, name)) {
        return ctx->forced ? failed() : to_rr(server, domain, type, *answer);
      }
    }
    DnsAnswer answer = ask(*ctx, name, *dt);
    count_void(*ctx, answer);
    if (ctx->forced) {
      return failed();
    }
    if (*dt == DnsType::ptr && answer.names.size() > 10) {
      answer.names.resize(10);  // RFC 7208 §4.6.4: only the first 10 are used
    }
    if (*dt == DnsType::mx || *dt == DnsType::ptr) {
      ctx->pending.assign(answer.names.begin(), answer.names.end());
    }
    return to_rr(server, domain, type, answer);
  } catch (...) {
    if (ctx != nullptr) {
      force(*ctx, Result::temperror, "internal error in dns layer");
    }
    return failed();
  }
}

// Replaces libspf2's record fetch: selection, strict parsing and our own
// rendering, then libspf2 compiles what it can evaluate correctly.
SPF_errcode_t get_spf_hook(SPF_server_t* server, SPF_request_t* request, SPF_response_t* response,
                           SPF_record_t** recordp) noexcept {
  *recordp = nullptr;
  CheckContext* ctx = t_context;
  if (ctx == nullptr || ctx->forced || request->cur_dom == nullptr) {
    return SPF_E_DNS_ERROR;
  }
  try {
    const bool top = ctx->fetches++ == 0;
    const std::string domain(request->cur_dom);
    const auto no_record = [&](Result top_result, std::string problem) {
      if (top) {
        ctx->top = top_result;
        ctx->problem = std::move(problem);
      }
      return top_result == Result::temperror ? SPF_E_DNS_ERROR : SPF_E_NOT_SPF;
    };
    if (!top) {
      ctx->pending.clear();
      if (!count_lookup(*ctx)) {
        return SPF_E_BIG_DNS;
      }
      if (!is_checkable_domain(domain)) {
        force(*ctx, Result::permerror, "invalid target domain " + domain);
        return SPF_E_NOT_SPF;
      }
    }
    const DnsAnswer txt = ask(*ctx, domain, DnsType::txt);
    if (txt.status == DnsStatus::temp_error) {
      return no_record(Result::temperror, ctx->problem);
    }
    if (!top) {
      count_void(*ctx, txt);
      if (ctx->forced) {
        return SPF_E_BIG_DNS;
      }
    }
    const Selection selection = select_record(txt.texts, ctx->scope);
    if (selection.kind == Selection::Kind::none) {
      return no_record(Result::none, "no spf record at " + domain);
    }
    if (selection.kind == Selection::Kind::multiple) {
      force(*ctx, Result::permerror, "more than one spf record at " + domain);
      return SPF_E_MULTIPLE_RECORDS;
    }
    Record record;
    try {
      record = parse_record(selection.text);
    } catch (const RecordError& e) {
      force(*ctx, Result::permerror, domain + ": " + e.what());
      return SPF_E_SYNTAX;
    }
    const std::string text = render(record, ctx->client);
    SPF_record_t* compiled = nullptr;
    const SPF_errcode_t err = SPF_record_compile(server, response, &compiled, text.c_str());
    if (err != SPF_E_SUCCESS) {
      SPF_record_free(compiled);
      force(*ctx, Result::permerror, domain + ": libspf2 refused record: " + SPF_strerror(err));
      return err;
    }
    *recordp = compiled;
    return SPF_E_SUCCESS;
  } catch (...) {
    force(*ctx, Result::temperror, "internal error in record fetch");
    return SPF_E_INTERNAL_ERROR;
  }
}

Result from_libspf2(SPF_result_t r, const CheckContext& ctx) {
  switch (r) {
    case SPF_RESULT_NEUTRAL: return Result::neutral;
    case SPF_RESULT_PASS: return Result::pass;
    case SPF_RESULT_FAIL: return Result::fail;
    case SPF_RESULT_SOFTFAIL: return Result::softfail;
    case SPF_RESULT_NONE: return Result::none;
    case SPF_RESULT_TEMPERROR: return Result::temperror;
    case SPF_RESULT_PERMERROR: return Result::permerror;
    case SPF_RESULT_INVALID: break;
  }
  return ctx.saw_temp_error ? Result::temperror : Result::permerror;
}

// The local part and domain of the identity, as RFC 7208 §4.3 and §2.3/§2.4
// define them; nullopt when the domain cannot be checked (result none).
struct CheckedIdentity {
  std::string env_from;  // local@domain handed to libspf2
  std::string domain;
};
std::optional<CheckedIdentity> identity_of(const Query& q) {
  std::string local = "postmaster";
  std::string domain = q.helo;
  if (q.identity != Identity::helo && !q.sender.empty()) {
    const auto at = q.sender.rfind('@');
    if (at == std::string::npos) {
      return std::nullopt;
    }
    if (at > 0) {
      local = q.sender.substr(0, at);
    }
    domain = q.sender.substr(at + 1);
  }
  if (!domain.empty() && domain.back() == '.') {
    domain.pop_back();
  }
  // Bounded, printable input only: libspf2's macro expansion is not trusted
  // with more (its integer-underflow fix is missing in Debian 12).
  if (!is_checkable_domain(domain) || local.size() > 64) {
    return std::nullopt;
  }
  for (char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      return std::nullopt;
    }
  }
  return CheckedIdentity{local + "@" + domain, domain};
}

}  // namespace

const char* to_string(Result result) noexcept {
  switch (result) {
    case Result::none: return "none";
    case Result::neutral: return "neutral";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::softfail: return "softfail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "?";
}

const char* to_string(Identity identity) noexcept {
  switch (identity) {
    case Identity::mailfrom: return "mailfrom";
    case Identity::helo: return "helo";
    case Identity::pra: return "pra";
  }
  return "?";
}

struct Checker::Impl {
  std::shared_ptr<const Resolver> resolver;
  Limits limits;
  SPF_dns_server_t dns{};  // our layer; libspf2 does not own it (destroy == nullptr)
  Server server;
};

Checker::Checker(std::shared_ptr<const Resolver> resolver, Limits limits) : impl_(std::make_unique<Impl>()) {
  static std::once_flag handlers;
  std::call_once(handlers, [] {
    SPF_error_handler = on_spf_error;
    SPF_warning_handler = on_spf_message;
    SPF_info_handler = on_spf_message;
    SPF_debug_handler = on_spf_message;
  });
  impl_->resolver = std::move(resolver);
  impl_->limits = limits;
  impl_->dns.destroy = nullptr;
  impl_->dns.lookup = lookup_hook;
  impl_->dns.get_spf = get_spf_hook;
  impl_->dns.name = "postern";
  impl_->server.reset(SPF_server_new_dns(&impl_->dns, 0));
  if (!impl_->server) {
    throw std::runtime_error("libspf2: cannot create server");
  }
  // Explanations are never echoed (libspf2 mangles them): keep them constant
  // so a fail costs no extra DNS.
  SPF_response_t* ignored = nullptr;
  SPF_server_set_explanation(impl_->server.get(), "spf", &ignored);
  SPF_response_free(ignored);
  // Our layer enforces RFC 7208 §4.6.4 across includes; libspf2's own
  // per-include counter must never trigger first.
  SPF_server_set_max_dns_mech(impl_->server.get(), 100);
}

Checker::~Checker() = default;

Outcome Checker::check(const Query& query) const {
  Outcome out;
  const auto id = identity_of(query);
  if (!id) {
    out.problem = "no checkable domain";
    return out;
  }
  out.domain = id->domain;

  CheckContext ctx;
  ctx.resolver = impl_->resolver.get();
  ctx.limits = &impl_->limits;
  ctx.client = query.client;
  ctx.scope = query.identity == Identity::pra ? Scope::pra : Scope::mfrom;
  ctx.deadline = Clock::now() + impl_->limits.budget;

  Request request(SPF_request_new(impl_->server.get()));
  if (!request) {
    throw std::bad_alloc();
  }
  const std::string client = query.client.to_string();
  const SPF_errcode_t ip_err = query.client.is_v4() ? SPF_request_set_ipv4_str(request.get(), client.c_str())
                                                    : SPF_request_set_ipv6_str(request.get(), client.c_str());
  if (ip_err != SPF_E_SUCCESS) {
    out.problem = "bad client address";
    out.result = Result::permerror;
    return out;
  }
  const std::string helo = query.helo.size() <= 255 ? query.helo : std::string();
  if (!helo.empty()) {
    SPF_request_set_helo_dom(request.get(), helo.c_str());
  }
  if (SPF_request_set_env_from(request.get(), id->env_from.c_str()) != 0) {
    out.problem = "bad sender";
    return out;
  }

  struct Bind {
    explicit Bind(CheckContext* c) { t_context = c; }
    ~Bind() { t_context = nullptr; }
    Bind(const Bind&) = delete;
    Bind& operator=(const Bind&) = delete;
  } bind(&ctx);

  // SPF_request_query_mailfrom without its loopback shortcut.
  Response response(SPF_response_new(request.get()));
  if (!response) {
    throw std::bad_alloc();
  }
  request->use_helo = 0;
  request->cur_dom = request->env_from_dp;
  SPF_record_t* raw = nullptr;
  const SPF_errcode_t err = SPF_server_get_record(impl_->server.get(), request.get(), response.get(), &raw);
  CompiledRecord record(raw);
  if (err == SPF_E_SUCCESS && record) {
    response->spf_record_exp = record.get();
    SPF_record_interpret(record.get(), request.get(), response.get(), 0);
    out.result = from_libspf2(SPF_response_result(response.get()), ctx);
  } else {
    out.result = ctx.top.value_or(Result::permerror);
  }
  if (ctx.forced) {
    out.result = *ctx.forced;
  }
  if (out.result == Result::temperror || out.result == Result::permerror || out.result == Result::none) {
    out.problem = ctx.problem.empty() ? SPF_strerror(SPF_response_errcode(response.get())) : ctx.problem;
  }
  out.lookups = ctx.lookups;
  out.void_lookups = ctx.voids;
  return out;
}

}  // namespace postern::spf

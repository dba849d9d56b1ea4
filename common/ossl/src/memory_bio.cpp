#include "postern/ossl/memory_bio.hpp"

#include <openssl/bio.h>

#include <climits>

#include "postern/ossl/error.hpp"

namespace postern::ossl {
namespace {

struct SinkState {
  std::string* out = nullptr;
  bool crlf = false;
  std::function<bool(std::string_view)> write;  // callback_sink
  bool last_cr = false;                         // callback_sink: the last byte passed on was '\r'
  std::string converted;                        // callback_sink: one write with CRLF line ends
};

int callback_write(SinkState& state, const char* data, int len) {
  std::string_view bytes(data, static_cast<std::size_t>(len));
  if (state.crlf && bytes.find('\n') != std::string_view::npos) {
    state.converted.clear();
    std::size_t from = 0;
    for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
      const bool has_cr = i > 0 ? bytes[i - 1] == '\r' : state.last_cr;
      state.converted.append(bytes.substr(from, i - from));
      if (!has_cr) state.converted.push_back('\r');
      from = i;
    }
    state.converted.append(bytes.substr(from));
    bytes = state.converted;
  }
  if (bytes.empty()) return len;
  if (!state.write(bytes)) return -1;
  state.last_cr = bytes.back() == '\r';
  return len;
}

int sink_write(BIO* bio, const char* data, int len) {
  auto* state = static_cast<SinkState*>(BIO_get_data(bio));
  if (state == nullptr || len < 0) return -1;
  if (state->write) return callback_write(*state, data, len);
  std::string& out = *state->out;
  if (!state->crlf) {
    out.append(data, static_cast<std::size_t>(len));
    return len;
  }
  std::size_t from = 0;
  const auto n = static_cast<std::size_t>(len);
  for (std::size_t i = 0; i < n; ++i) {
    if (data[i] != '\n') continue;
    const bool has_cr = i > 0 ? data[i - 1] == '\r' : (!out.empty() && out.back() == '\r');
    out.append(data + from, i - from);
    if (!has_cr) out.push_back('\r');
    out.push_back('\n');
    from = i + 1;
  }
  out.append(data + from, n - from);
  return len;
}

int sink_puts(BIO* bio, const char* text) {
  const std::size_t n = std::char_traits<char>::length(text);
  if (n > static_cast<std::size_t>(INT_MAX)) return -1;
  return sink_write(bio, text, static_cast<int>(n));
}

long sink_ctrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_PUSH:
    case BIO_CTRL_POP:
      return 1;
    default:
      return 0;
  }
}

int sink_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int sink_destroy(BIO* bio) {
  delete static_cast<SinkState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

BIO_METHOD* sink_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "postern string sink");
    if (m == nullptr || BIO_meth_set_write(m, sink_write) != 1 || BIO_meth_set_puts(m, sink_puts) != 1 ||
        BIO_meth_set_ctrl(m, sink_ctrl) != 1 || BIO_meth_set_create(m, sink_create) != 1 ||
        BIO_meth_set_destroy(m, sink_destroy) != 1) {
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return m;
  }();
  return method;
}

}  // namespace

BioPtr view_bio(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) throw Error("view_bio: input larger than 2 GiB");
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) throw Error("BIO_new_mem_buf");
  BIO_set_mem_eof_return(bio.get(), 0);
  return bio;
}

BioPtr string_sink(std::string& out, LineBreaks breaks) {
  BIO_METHOD* method = sink_method();
  if (method == nullptr) throw Error("BIO_meth_new");
  BioPtr bio(BIO_new(method));
  if (!bio) throw Error("BIO_new(string sink)");
  BIO_set_data(bio.get(), new SinkState{&out, breaks == LineBreaks::crlf});
  return bio;
}

BioPtr callback_sink(std::function<bool(std::string_view)> write, LineBreaks breaks) {
  BIO_METHOD* method = sink_method();
  if (method == nullptr) throw Error("BIO_meth_new");
  BioPtr bio(BIO_new(method));
  if (!bio) throw Error("BIO_new(callback sink)");
  auto* state = new SinkState{};
  state->crlf = breaks == LineBreaks::crlf;
  state->write = std::move(write);
  BIO_set_data(bio.get(), state);
  return bio;
}

BioPtr base64_filter(BioPtr next) {
  BioPtr b64(BIO_new(BIO_f_base64()));
  if (!b64) throw Error("BIO_new(BIO_f_base64)");
  BIO_push(b64.get(), next.release());
  return b64;
}

}  // namespace postern::ossl

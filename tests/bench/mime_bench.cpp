// NAME
//   mime_bench - libmimetic against postern::mime: speed, byte-exactness,
//   behaviour on broken input
// SUMMARY
//   cmake -DPOSTERN_BENCH=ON ... && cmake --build . --target mime_bench
//   build/bin/mime_bench [message.eml...]
// DESCRIPTION
//   Run by hand; not a ctest test. The numbers behind the decision in
//   docs/mime.md. For each message (generated ones, plus any given on the
//   command line): parse time of both libraries, and whether what each
//   hands back for an untouched message is the input byte for byte —
//   libmimetic by writing the parsed entity out, postern by serializing the
//   header block and copying the body range. Broken inputs run in a child
//   process each, so a crash is reported instead of ending the benchmark.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <mimetic/mimetic.h>
#include <sstream>
#include <string>
#include <vector>

#include "postern/mime/part.hpp"
#include "postern/mime/transfer_encoding.hpp"

namespace {

using namespace std::string_literals;

struct Sample {
  std::string name;
  std::string bytes;
};

std::string text_lines(std::size_t size, const std::string& eol) {
  std::string out;
  const std::string line = "The quick brown fox jumps over the lazy dog, again and again." + eol;
  while (out.size() < size) {
    out += line;
  }
  return out;
}

std::string ten_kb() {
  return "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nSubject: ten kilobytes\r\n"
         "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
         "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
         text_lines(5000, "\r\n") + "\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>" +
         text_lines(5000, "\r\n") + "</body></html>\r\n--alt--\r\n";
}

std::string one_mb() {
  std::string payload(768 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>(i * 131 + i / 7);
  }
  return "From: alice@example.com\r\nSubject: one megabyte\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\n"
         "See attachment.\r\n--mix\r\nContent-Type: application/octet-stream\r\n"
         "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n" +
         postern::mime::encode_base64(payload, 76, "\r\n") + "--mix--\r\n";
}

std::string many_parts(int count) {
  std::string out = "From: alice@example.com\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
  for (int i = 0; i < count; ++i) {
    out += "--p\r\nContent-Type: text/plain; name=\"part" + std::to_string(i) + ".txt\"\r\n\r\npart " +
           std::to_string(i) + "\r\n";
  }
  return out + "--p--\r\n";
}

// Forms seen in real mail that a pass-through must not alter.
std::vector<Sample> quirks() {
  return {
      {"lf-only", "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"},
      {"folded-header", "Subject: one\r\n\ttwo\r\n   three\r\nContent-Type: text/plain;\r\n charset=us-ascii\r\n\r\nx\r\n"},
      {"obsolete-colon", "Subject : spaced\r\nX-Lower:no-space\r\n\r\nx\r\n"},
      {"preamble-epilogue",
       "Content-Type: multipart/mixed; boundary=b\r\n\r\nThis is a preamble.\r\n--b\r\n\r\nx\r\n--b--\r\nepilogue\r\n"},
      {"padding-after-boundary", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\n\r\nx\r\n--b-- \r\n"},
      {"trailing-whitespace", "Subject: x   \r\n\r\nline with spaces   \r\n"},
      {"no-final-newline", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--"},
  };
}

// Broken input: what each library does with it.
std::vector<Sample> broken() {
  std::string deep;
  for (int i = 0; i < 5000; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) +
            "\r\n";
  }
  return {
      {"missing-close-delimiter", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n"},
      {"missing-boundary-param", "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n--b--\r\n"},
      {"nul-and-8bit", "Subject: \xff\0\xfe\r\n\r\n\0\0\x80\r\n"s},
      {"header-without-colon", "Subject: x\r\nthis is not a header\r\n\r\nbody\r\n"},
      {"5000-nested-multiparts", deep},
  };
}

template <typename F>
double seconds_per_run(F&& run) {
  using Clock = std::chrono::steady_clock;
  int iterations = 1;
  while (true) {
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
      run();
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed > 0.3 || iterations >= (1 << 20)) {
      return elapsed / iterations;
    }
    iterations *= 2;
  }
}

std::string mimetic_round_trip(const std::string& bytes) {
  mimetic::MimeEntity entity(bytes.begin(), bytes.end());
  std::ostringstream out;
  out << entity;
  return out.str();
}

// What a pass-through of an untouched message emits: the header block as
// parsed, then the body bytes by range.
std::string postern_round_trip(const std::string& bytes) {
  postern::mime::Part root = postern::mime::parse_message(bytes);
  return root.headers.serialize() + std::string(root.body.of(bytes));
}

std::size_t count_parts(const postern::mime::Part& part) {
  std::size_t n = 1;
  for (const auto& child : part.children) {
    n += count_parts(child);
  }
  return n;
}

std::size_t count_parts(const mimetic::MimeEntity& entity) {
  std::size_t n = 1;
  for (const auto* child : entity.body().parts()) {
    n += count_parts(*child);
  }
  return n;
}

// Runs f in a child process: "ok", "threw ...", or the signal that killed it.
std::string in_child(const std::function<std::string()>& f) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    return "pipe failed";
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string result;
    try {
      result = f();
    } catch (const std::exception& e) {
      result = std::string("threw: ") + e.what();
    } catch (...) {
      result = "threw a non-std exception";
    }
    if (::write(pipe_fds[1], result.data(), result.size()) < 0) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string result;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
    result.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return "crashed (signal " + std::to_string(WTERMSIG(status)) + ")";
  }
  return result;
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Sample> samples = {{"10 KB alternative", ten_kb()}, {"1 MB attachment", one_mb()},
                                 {"1000 parts", many_parts(1000)}};
  for (auto& q : quirks()) {
    samples.push_back(std::move(q));
  }
  for (int i = 1; i < argc; ++i) {
    samples.push_back({argv[i], read_file(argv[i])});
  }

  std::printf("%-28s %9s | %12s %6s %5s | %12s %6s %5s\n", "message", "bytes", "mimetic MB/s", "exact", "parts",
              "postern MB/s", "exact", "parts");
  for (const auto& s : samples) {
    const std::string& bytes = s.bytes;
    double mb = static_cast<double>(bytes.size()) / 1e6;
    double t_mimetic = seconds_per_run([&] { mimetic::MimeEntity entity(bytes.begin(), bytes.end()); });
    double t_postern = seconds_per_run([&] { postern::mime::parse_message(bytes); });
    mimetic::MimeEntity entity(bytes.begin(), bytes.end());
    std::printf("%-28.28s %9zu | %12.1f %6s %5zu | %12.1f %6s %5zu\n", s.name.c_str(), bytes.size(), mb / t_mimetic,
                mimetic_round_trip(bytes) == bytes ? "yes" : "NO", count_parts(entity), mb / t_postern,
                postern_round_trip(bytes) == bytes ? "yes" : "NO", count_parts(postern::mime::parse_message(bytes)));
  }

  std::printf("\nbroken input\n%-28s | %-40s | %s\n", "message", "mimetic", "postern");
  for (const auto& s : broken()) {
    std::string mimetic_result = in_child([&] {
      std::string out = mimetic_round_trip(s.bytes);
      return std::string(out == s.bytes ? "ok, exact" : "ok, output differs");
    });
    std::string postern_result = in_child([&] {
      postern::mime::Part root = postern::mime::parse_message(s.bytes);
      std::string verdict = postern_round_trip(s.bytes) == s.bytes ? "ok, exact" : "ok, output differs";
      for (auto d : root.defects) {
        verdict += std::string(", ") + postern::mime::to_string(d);
      }
      return verdict;
    });
    std::printf("%-28s | %-40s | %s\n", s.name.c_str(), mimetic_result.c_str(), postern_result.c_str());
  }
  return 0;
}

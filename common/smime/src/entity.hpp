// NAME
//   entity - private helpers of postern_smime: splitting a message into
//   outer header fields and MIME entity, and CMS in and out of base64
// SUMMARY
//   detail::Split split = detail::split_message(message);
//   std::string out = detail::outer_fields(split.outer);
//   detail::append_cms_base64(out, cms, content_bio, flags);
// DESCRIPTION
//   The outer fields are everything but Content-*; they stay outside the
//   protection. CMS output is streamed through BIO_f_base64 into the
//   caller's string with CRLF line ends; CMS input is decoded by a strict
//   table-driven base64 decoder that sizes its output once.
// DIAGNOSTICS
//   split_message throws smime::Error (bad_input, too_large);
//   append_cms_base64 and random_boundary smime::Error (internal).
// THREADS
//   Reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/mime/header.hpp"
#include "postern/ossl/handles.hpp"

namespace postern::smime::detail {

bool is_content_field(std::string_view name) noexcept;

struct Split {
  std::vector<mime::Header> outer;    // every field that is not Content-*; MIME-Version included
  std::vector<mime::Header> content;  // the Content-* fields
  std::string_view body;              // after the blank line
};
Split split_message(std::string_view message);

// Fields serialized with CRLF line breaks.
void append_fields(std::string& out, const std::vector<mime::Header>& fields);

// The outer fields and MIME-Version (added when missing), CRLF: the start
// of a protected message, its entity to be appended.
std::string outer_fields(const std::vector<mime::Header>& outer);

// DER of `cms` as base64 lines with CRLF, appended to out. Streams the
// content from `in` when `in` is not null (i2d_CMS_bio_stream).
void append_cms_base64(std::string& out, CMS_ContentInfo* cms, BIO* in, int flags);

std::string random_boundary();

// Characters append_cms_base64 writes for `der_size` bytes: 64 a line, CRLF.
constexpr std::size_t base64_size(std::size_t der_size) {
  const std::size_t chars = (der_size + 2) / 3 * 4;
  return chars + (chars / 64 + 1) * 2;
}

// Strict base64 as mime::decode_base64 (whitespace skipped, anything else
// outside the alphabet, misplaced or excess padding is damage), with a
// lookup table and the output sized once: CMS bodies are the large ones.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace postern::smime::detail

// NAME
//   memory_bio - BIOs over Postern's own memory: a read-only view, a
//   sink that appends to a std::string and one that hands bytes on
// SUMMARY
//   ossl::BioPtr in = ossl::view_bio(entity);          // no copy
//   std::string out; out.reserve(entity.size() * 4 / 3 + 4096);
//   ossl::BioPtr sink = ossl::string_sink(out, ossl::LineBreaks::crlf);
//   i2d_CMS_bio_stream(b64_over_sink, cms, in.get(), flags);
// DESCRIPTION
//   view_bio() reads the caller's bytes in place (BIO_new_mem_buf) and
//   reports end of data as EOF, not "retry": SMIME_read_CMS and streaming
//   CMS reads need that (BIO_set_mem_eof_return(0)). The bytes must outlive
//   the BIO.
//
//   string_sink() writes into a string the caller owns and can pre-size, so
//   a large message is written once into one buffer instead of through a
//   growing memory BIO (the churn FACTS.md measured). With LineBreaks::crlf
//   every "\n" written that is not already preceded by "\r" becomes "\r\n":
//   BIO_f_base64 writes LF line ends, mail needs CRLF.
//
//   callback_sink() hands every write (after the same CRLF conversion) to
//   a function instead, for output that is passed on or spooled as it is
//   made rather than held whole. The function returns false to fail the
//   write (BIO_write returns -1); it must not throw.
// THREADS
//   A BIO belongs to one thread at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "postern/ossl/handles.hpp"

namespace postern::ossl {

enum class LineBreaks { keep, crlf };

// A read-only BIO over `bytes`; EOF at the end. Throws ossl::Error.
BioPtr view_bio(std::string_view bytes);

// A BIO appending everything written to `out`, which must outlive it.
// Throws ossl::Error.
BioPtr string_sink(std::string& out, LineBreaks breaks = LineBreaks::keep);

// A BIO passing everything written to `write`. Throws ossl::Error.
BioPtr callback_sink(std::function<bool(std::string_view)> write, LineBreaks breaks = LineBreaks::keep);

// BIO_f_base64 pushed on `next` (64 characters a line). Takes `next`.
BioPtr base64_filter(BioPtr next);

}  // namespace postern::ossl

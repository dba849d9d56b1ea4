// NAME
//   c_unique - RAII ownership of C library handles
// SUMMARY
//   using Bio = CUnique<BIO, &BIO_free_all>;
// DESCRIPTION
//   A unique_ptr with a stateless deleter that calls the library's own free
//   function. Every C handle Postern holds is owned this way, so no cleanup
//   chain is written by hand.
// THREADS
//   As std::unique_ptr.
#pragma once

#include <memory>

namespace postern::core {

template <auto Free>
struct CFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) {
      Free(p);
    }
  }
};

template <typename T, auto Free>
using CUnique = std::unique_ptr<T, CFree<Free>>;

}  // namespace postern::core

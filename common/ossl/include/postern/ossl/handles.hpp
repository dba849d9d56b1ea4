// NAME
//   handles - owning handles for the OpenSSL objects Postern holds
// SUMMARY
//   ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
//   ossl::X509Stack chain = ossl::make_x509_stack();
// DESCRIPTION
//   Every OpenSSL object Postern owns is held by one of these aliases of
//   core::CUnique, so no free is written by hand. STACK_OF(X509) needs its
//   elements freed too: X509Stack frees the stack and every certificate in
//   it (sk_X509_pop_free); push only certificates the stack may own
//   (X509_up_ref first when the caller keeps its own reference).
// THREADS
//   As std::unique_ptr. OpenSSL 3 objects that are only read (certificates,
//   public keys, a built X509_STORE) may be shared between threads.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "postern/core/c_unique.hpp"

namespace postern::ossl {

namespace detail {
inline void free_x509_stack(STACK_OF(X509) * s) noexcept { sk_X509_pop_free(s, X509_free); }
inline void free_crl_stack(STACK_OF(X509_CRL) * s) noexcept { sk_X509_CRL_pop_free(s, X509_CRL_free); }
inline void free_general_names(GENERAL_NAMES* n) noexcept { GENERAL_NAMES_free(n); }
}  // namespace detail

using BioPtr = core::CUnique<BIO, &BIO_free_all>;
using X509Ptr = core::CUnique<X509, &X509_free>;
using X509CrlPtr = core::CUnique<X509_CRL, &X509_CRL_free>;
using PkeyPtr = core::CUnique<EVP_PKEY, &EVP_PKEY_free>;
using PkeyCtxPtr = core::CUnique<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using CmsPtr = core::CUnique<CMS_ContentInfo, &CMS_ContentInfo_free>;
using X509StorePtr = core::CUnique<X509_STORE, &X509_STORE_free>;
using X509StoreCtxPtr = core::CUnique<X509_STORE_CTX, &X509_STORE_CTX_free>;
using Pkcs12Ptr = core::CUnique<PKCS12, &PKCS12_free>;
using OcspRequestPtr = core::CUnique<OCSP_REQUEST, &OCSP_REQUEST_free>;
using OcspResponsePtr = core::CUnique<OCSP_RESPONSE, &OCSP_RESPONSE_free>;
using OcspBasicPtr = core::CUnique<OCSP_BASICRESP, &OCSP_BASICRESP_free>;
using GeneralNamesPtr = core::CUnique<GENERAL_NAMES, &detail::free_general_names>;
using X509Stack = core::CUnique<STACK_OF(X509), &detail::free_x509_stack>;
using CrlStack = core::CUnique<STACK_OF(X509_CRL), &detail::free_crl_stack>;

// An empty stack; throws std::bad_alloc when OpenSSL cannot allocate.
X509Stack make_x509_stack();
// A copy of `cert` that shares the certificate (X509_up_ref).
X509Ptr share(X509* cert);

}  // namespace postern::ossl

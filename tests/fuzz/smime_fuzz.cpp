// NAME
//   smime_fuzz - open_message (parse, decrypt, verify) on arbitrary bytes
// DESCRIPTION
//   Two throw-away keys (P-256 and RSA-2048, self-signed, made for this
//   fuzzer only and published with it) are the candidate decryption keys
//   and the trust anchors, so the seeds in corpus/smime reach decryption
//   and signature checking. Besides not crashing: a message that could not
//   be opened comes back unchanged, no more layers are removed than
//   allowed, and every signature result names a verdict.
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string_view>

#include "postern/ossl/pem_der.hpp"
#include "postern/smime/smime.hpp"

namespace {

using namespace postern;

// Test keys, not secrets: they protect nothing.
constexpr std::string_view kEcKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfFb+39Agr7cAVFlq\n"
    "K6wcWJrnN+g0OKUKkFE8zxsHcaChRANCAATLnS6QDfxMbmQ9afOKpqShmeSP6gPE\n"
    "WhsnvEd/tGYYVuihZ5M3Cx1ZHKKIN0nE8GDnZKux+Za4Pov3ZZevtgOc\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kEcCert =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCjCCAbGgAwIBAgIUFuY+fHqUdRRv9SjyUSxRLt3K2CEwCgYIKoZIzj0EAwIw\n"
    "ODEVMBMGA1UEAwwMUG9zdGVybiBmdXp6MR8wHQYJKoZIhvcNAQkBFhBmdXp6QGV4\n"
    "YW1wbGUub3JnMCAXDTI2MTEyNDIzMjQwN1oYDzIxMjYxMDMxMjMyNDA3WjA4MRUw\n"
    "EwYDVQQDDAxQb3N0ZXJuIGZ1enoxHzAdBgkqhkiG9w0BCQEWEGZ1enpAZXhhbXBs\n"
    "ZS5vcmcwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATLnS6QDfxMbmQ9afOKpqSh\n"
    "meSP6gPEWhsnvEd/tGYYVuihZ5M3Cx1ZHKKIN0nE8GDnZKux+Za4Pov3ZZevtgOc\n"
    "o4GWMIGTMB0GA1UdDgQWBBSk4tAS1xHp953wQpm/lqPbbc6cGjAfBgNVHSMEGDAW\n"
    "gBSk4tAS1xHp953wQpm/lqPbbc6cGjAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQU\n"
    "MBKBEGZ1enpAZXhhbXBsZS5vcmcwDgYDVR0PAQH/BAQDAgOIMBMGA1UdJQQMMAoG\n"
    "CCsGAQUFBwMEMAoGCCqGSM49BAMCA0cAMEQCIHCvOQ0p2D2bfRPl0vii+dgbVBit\n"
    "1p38t+H/OG0zix7PAiBf0Lg2bMUjHEGlb44WdNQtM9H03UyQsr1/Z5YQ1gMITQ==\n"
    "-----END CERTIFICATE-----\n";
constexpr std::string_view kRsaKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC2h5wFA5quA3iB\n"
    "VhZS0hUxVQ+ZuliG3zZ0St9XW0qGgqymRVMZNKi+ENMglFYuFswN/izmiBGLM4FY\n"
    "OZdhxyMsTByfGsnLUvyGssRblqrNhghI/+gYk2iR7p+H128U6F78yBM1svAG+Og6\n"
    "gkjaHt1JLhkxymPz1ray3SaIY6HRRg/ktXdePjgDuUtkzeNaNx7iaxRefGbrNdRX\n"
    "wN5R2NrAOD0WlAStGjmk0xAC2Ly08BGA9WUju8mdIwfTqdOY27uoG7zlTQIuFGvd\n"
    "ADudk4LkbX1Hx9kyazu4QnPxVOvIcYlx5FDJivqsSJJRfPdQ4cxC0/u5ihJP3V1n\n"
    "Jp3j6CfrAgMBAAECggEAAQWrYv/NKvJMB3Vi9J3GjpsqVjML8d1oIaiVrZiOR0iO\n"
    "DPRQbdC0rTPM6t7JyMJJ7D4jJDtY1c25CLRx25NQ6BuZAW8V+DSDw4FWxiiG1lXM\n"
    "0BPWyeRxbnfGnu0e6yAOAB5itSdGXtOgAUvfepE3rgQ7EeNPQftO1JuWbqcYLeLT\n"
    "HZLrysNr7/CexHMfkHwp6tiZk8/+C7YME+gcDlZZ6gqbVUXN1xFNEcNbasFd/Ypb\n"
    "+JdhafM9A8Q8PKT2/Mhw3ujElt7LLgGEVOAIHCuKW5AQhgHcaT8Ln2fMOcCe+XN/\n"
    "vrBSRfyjNQT/EL+gcrLpVQMeEOBn7CJ080rZ2r4AGQKBgQD0Jo5jDLSVcdQGs/B8\n"
    "mFXhhMSRKW4f3HsmZC2dgN2klzLhnoZzF996Cm2Vt+n1zUe1Mfoua6skocxrkFTh\n"
    "xABO+75dal8/l9xdNsO+4WlocdhMJixnCY9IRJ47Cq7TRgGmvwJBy4yJSWLSNUQl\n"
    "iagLOf7G6knjhFZL8MYFFoIVxwKBgQC/Y3IoxHvklbEoCuy81DSqLSiollCkvFqQ\n"
    "r8hK98KI5P7RcEjIFMhBTV5gZ67Hqroj13SVWtYTMOAGX8pjtSsvvg4zyXwGY4J1\n"
    "nOov3TFogD09oxU5lVuxkVe/12jm7uycHY/GO3C0lxJVkDrGY+xN/g5ZyKTFFpkl\n"
    "Ky5FYWFMvQKBgQCYU8n4oH+20fsgZ3n+sqi6eLSPgRLVTCGFtXEEWNdwjmlPfTGT\n"
    "c2yZ3xG6HLIbCwXXViQqfECeLVi2L6nV5gzvOn/uFqTwr1XsznNYj5jNcmIqOJLx\n"
    "gnRj+XPjkGm9JWt4VqoY1N+M9D10u4kWBonS309HWfvZuMKCxOk3WXC2FwKBgAGv\n"
    "XXTwberQSpQArJ7o+2G4LhB16lXY9q8pbQkD72mHIpszcuCYFj9E8BzHLOnDHgps\n"
    "vjEGcLYQixhjRYPlN3EfKj7YekgQHjjs3b74IpQ59NATHH+6SelhTzV4LwtBdUHW\n"
    "nMpxAYgFgHrSX0IZ5R22q+esdY7qqQSDwc+IkPO9AoGAe/WO+sztc6CPbM/bHusE\n"
    "71kSMfKe7ULjSBmpLjpGCcfQGrrIHilYgIzkBiPDOdRpIY7uADFx+JkWNssLFCME\n"
    "uHKOL/7H6J1GMQh7nYHRLY5YiGJU/gq/jc9jCUIs2zuLCc6Y3XtzhhF+QlJVn9gf\n"
    "vkKhXPcFR04XshiLfh0FuEU=\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRsaCert =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDnzCCAoegAwIBAgIURKENPyMMprJXmUzlLdmBr6zkAf8wDQYJKoZIhvcNAQEL\n"
    "BQAwPDEZMBcGA1UEAwwQUG9zdGVybiBmdXp6IFJTQTEfMB0GCSqGSIb3DQEJARYQ\n"
    "ZnV6ekBleGFtcGxlLm9yZzAgFw0yNjExMjQyMzI0MDhaGA8yMTI2MTAzMTIzMjQw\n"
    "OFowPDEZMBcGA1UEAwwQUG9zdGVybiBmdXp6IFJTQTEfMB0GCSqGSIb3DQEJARYQ\n"
    "ZnV6ekBleGFtcGxlLm9yZzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB\n"
    "ALaHnAUDmq4DeIFWFlLSFTFVD5m6WIbfNnRK31dbSoaCrKZFUxk0qL4Q0yCUVi4W\n"
    "zA3+LOaIEYszgVg5l2HHIyxMHJ8ayctS/IayxFuWqs2GCEj/6BiTaJHun4fXbxTo\n"
    "XvzIEzWy8Ab46DqCSNoe3UkuGTHKY/PWtrLdJohjodFGD+S1d14+OAO5S2TN41o3\n"
    "HuJrFF58Zus11FfA3lHY2sA4PRaUBK0aOaTTEALYvLTwEYD1ZSO7yZ0jB9Op05jb\n"
    "u6gbvOVNAi4Ua90AO52TguRtfUfH2TJrO7hCc/FU68hxiXHkUMmK+qxIklF891Dh\n"
    "zELT+7mKEk/dXWcmnePoJ+sCAwEAAaOBljCBkzAdBgNVHQ4EFgQUuYw8Nb8lNozf\n"
    "aa8DzqjOBio4TpQwHwYDVR0jBBgwFoAUuYw8Nb8lNozfaa8DzqjOBio4TpQwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAbBgNVHREEFDASgRBmdXp6QGV4YW1wbGUub3JnMA4GA1Ud\n"
    "DwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcDBDANBgkqhkiG9w0BAQsFAAOC\n"
    "AQEAHPmez+ITKHLhbkj//JdXqhtSPvUbf4wGDJeC/DJ/jhcJsfE9uCv3rwoJT8qK\n"
    "wUAU1YECHK+TAe0W5MBLK4e7J3sjB7P1VGVEVUcScgousKQembK74K0fhkojaWDi\n"
    "nVjor38kaBSuc8k52mqZjQr8HVvSTi2YrO/Jsvhgb4yBn8muwphMVZ46fBYEBiDg\n"
    "jJ87IQj5Sp8IHlY7TnjKmyUkc+DnuM0Gtx9sqsDyfnOL4D7+fhBv79rHIdRs/FOz\n"
    "//ug4uSSsP7TTb9DGXajy6xr41vg33aGfy+5rRlhLL3z1Qa7e+65bsWhhH3nYCpr\n"
    "3pihjqf0mJuzcsmBaUbNHI5bRQ==\n"
    "-----END CERTIFICATE-----\n";

struct Fixture {
  smime::Credential ec;
  smime::Credential rsa;
  ossl::X509StorePtr store{X509_STORE_new()};

  Fixture() {
    ec.cert = std::move(ossl::read_certificates(kEcCert).front());
    ec.key = ossl::read_private_key(kEcKey);
    rsa.cert = std::move(ossl::read_certificates(kRsaCert).front());
    rsa.key = ossl::read_private_key(kRsaKey);
    X509_STORE_add_cert(store.get(), ec.cert.get());
    X509_STORE_add_cert(store.get(), rsa.cert.get());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture fixture;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  smime::OpenOptions options;
  options.keys = {&fixture.rsa, &fixture.ec};
  options.trust = fixture.store.get();
  options.max_layers = 3;
  options.max_size = 1 << 20;
  options.limits.max_depth = 20;
  options.limits.max_parts = 500;
  const smime::Opened opened = smime::open_message(message, options);
  if (opened.status.failure != smime::Failure::none && opened.message != message) std::abort();
  if (opened.status.layers > 3) std::abort();
  for (const smime::SignatureResult& sig : opened.status.signatures) {
    if (std::string_view(smime::to_string(sig.verdict)) == "unknown") std::abort();
  }
  return 0;
}

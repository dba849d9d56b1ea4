#include "postern/policy/facts.hpp"

#include <gtest/gtest.h>

namespace postern::policy {
namespace {

struct ProtectionCase {
  const char* label;
  std::string message;
  Protection encrypted;
  Protection signature;
};

class FactsProtection : public ::testing::TestWithParam<ProtectionCase> {};

TEST_P(FactsProtection, FromTopPart) {
  const auto f = MessageFacts::from_message(GetParam().message);
  EXPECT_EQ(f.encrypted, GetParam().encrypted);
  EXPECT_EQ(f.signature, GetParam().signature);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FactsProtection,
    ::testing::Values(
        ProtectionCase{"plain", "Subject: x\r\n\r\nhello\r\n", Protection::none, Protection::none},
        ProtectionCase{"pgp_mime",
                       "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n"
                       "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n",
                       Protection::pgp, Protection::none},
        ProtectionCase{"smime_enveloped",
                       "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n\r\nMIAG\r\n",
                       Protection::smime, Protection::none},
        ProtectionCase{"smime_no_type", "Content-Type: application/x-pkcs7-mime\r\n\r\nMIAG\r\n", Protection::smime,
                       Protection::none},
        ProtectionCase{"smime_opaque_signed",
                       "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nMIAG\r\n", Protection::none,
                       Protection::smime},
        ProtectionCase{"smime_detached",
                       "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n"
                       "--b\r\n\r\nhi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIAG\r\n--b--\r\n",
                       Protection::none, Protection::smime},
        ProtectionCase{"pgp_detached",
                       "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n"
                       "--b\r\n\r\nhi\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--b--\r\n",
                       Protection::none, Protection::pgp},
        ProtectionCase{"inline_pgp", "Subject: x\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQ\r\n", Protection::pgp,
                       Protection::none},
        ProtectionCase{"inline_pgp_signed", "Subject: x\r\n\r\nhi\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: x\r\n",
                       Protection::none, Protection::pgp},
        ProtectionCase{"armour_not_at_line_start", "Subject: x\r\n\r\nsee -----BEGIN PGP MESSAGE----- here\r\n",
                       Protection::none, Protection::none},
        ProtectionCase{"inline_pgp_in_first_text_part",
                       "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                       "-----BEGIN PGP MESSAGE-----\r\n--b--\r\n",
                       Protection::pgp, Protection::none}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(Facts, HeadersGiveSubjectPrioritySensitivity) {
  const std::string message =
      "Subject: =?UTF-8?B?R3LDvGV6aQ==?= [secret]\r\nX-Priority: 2 (High)\r\nSensitivity: Company-Confidential\r\n\r\nx";
  const auto f = MessageFacts::from_message(message);
  EXPECT_EQ(f.subject, "Grüezi [secret]");
  EXPECT_EQ(f.priority, Priority::high);
  EXPECT_EQ(f.sensitivity, "company-confidential");
  EXPECT_EQ(f.size, message.size());
}

struct PriorityCase {
  const char* headers;
  Priority priority;
};

class FactsPriority : public ::testing::TestWithParam<PriorityCase> {};

TEST_P(FactsPriority, XPriorityThenImportance) {
  EXPECT_EQ(MessageFacts::from_message(std::string(GetParam().headers) + "\r\nbody").priority, GetParam().priority);
}

INSTANTIATE_TEST_SUITE_P(Cases, FactsPriority,
                         ::testing::Values(PriorityCase{"", Priority::normal}, PriorityCase{"X-Priority: 1\r\n", Priority::high},
                                           PriorityCase{"X-Priority: 3\r\n", Priority::normal},
                                           PriorityCase{"X-Priority: 5 (Lowest)\r\n", Priority::low},
                                           PriorityCase{"X-Priority: 9\r\nImportance: low\r\n", Priority::low},
                                           PriorityCase{"Importance: HIGH\r\n", Priority::high},
                                           PriorityCase{"X-Priority: 4\r\nImportance: high\r\n", Priority::low}));

TEST(Facts, AttachmentsSkipBodyAndSignature) {
  const auto f = MessageFacts::from_message(
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\r\n\r\n"
      "--s\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
      "--m\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF\r\n"
      "--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n\r\nxx\r\n"
      "--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: application/zip; name=in.zip\r\n\r\nPK\r\n"
      "--m--\r\n"
      "--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nMIAG\r\n--s--\r\n");
  EXPECT_EQ(f.attachment_names, (std::vector<std::string>{"a.pdf", "", ""}));
}

TEST(Facts, BrokenMimeGivesWhatCanBeKnown) {
  const auto f = MessageFacts::from_message("Content-Type: multipart/mixed\r\n\r\nno boundary");
  EXPECT_TRUE(f.attachment_names.empty());
  EXPECT_EQ(f.encrypted, Protection::none);
}

struct AddressCase {
  const char* path;
  const char* normalized;
};

class Normalize : public ::testing::TestWithParam<AddressCase> {};

TEST_P(Normalize, GivesComparableForm) { EXPECT_EQ(normalize_address(GetParam().path), GetParam().normalized); }

INSTANTIATE_TEST_SUITE_P(Cases, Normalize,
                         ::testing::Values(AddressCase{"<>", ""}, AddressCase{"", ""},
                                           AddressCase{"<Bob@Example.ORG>", "bob@example.org"},
                                           AddressCase{"bob@example.org", "bob@example.org"},
                                           AddressCase{"<a@Exämple.org>", "a@xn--exmple-cua.org"},
                                           AddressCase{"<broken@@x>", "broken@@x"}));

}  // namespace
}  // namespace postern::policy

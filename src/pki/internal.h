// What pki's source files share: the loaded CA (Authority::Impl) and small helpers.
#pragma once

#include <string>

#include "pki/ossl.h"
#include "pki/pki.h"

namespace jishi::pki {

inline constexpr std::size_t kNameBytesMax = 128;

struct Member {
  ossl::Cert cert;
  ossl::Key key;
};

struct Authority::Impl {
  Algorithm algorithm = Algorithm::sm2;
  std::string base_url;
  ossl::Cert root;
  std::string root_key_pem;  // encrypted under the CA officer's passphrase
  Member issuing, ocsp, tsa, platform;
  std::int64_t crl_hours = 24;
};

std::string_view reason_name(int code);

// The WHERE clause ($2) that narrows a list to one holder: a person, an organisation, or all.
struct HolderFilter {
  std::string clause;
  std::optional<std::int64_t> who;
};
HolderFilter holder_filter(std::optional<UserId> user, std::optional<OrgId> org);
// A custodial key, unsealed.
Result<ossl::Key> custodial_key(store::Conn& conn, const FieldCipher& cipher,
                                std::string_view serial);

}  // namespace jishi::pki

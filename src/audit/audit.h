// The audit log: an append-only Merkle tree (RFC 6962/9162 hashing) of security events —
// sign-ins and failures, role changes, API keys, certificates issued and revoked, money
// movements above a threshold, signatures (evidence). An entry is appended in the transaction
// of the change it records, so the log and the data never disagree. Signed tree heads are
// made every audit_head_interval_s; inclusion and consistency proofs let a regulator check that
// an entry is in the log and that the log only ever grew. `jishi verify audit` recomputes the
// whole tree and checks every head's signature.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::audit {

struct Entry {
  std::int64_t idx = 0, at_us = 0;
  std::string kind;
  std::optional<std::int64_t> actor;
  std::string entry;      // the leaf data: canonical JSON {"idx","at_us","kind","actor","data"}
  std::string leaf_hash;  // hex SHA-256(0x00 || entry)
};

struct Head {
  std::int64_t tree_size = 0, at_us = 0;
  std::string root_hash;  // hex
  std::string algorithm, signer_serial;
  std::string signature;  // base64 over head_text()
};

// The text a tree head's signature covers.
std::string head_text(std::int64_t tree_size, std::int64_t at_us, std::string_view root_hex);

// Appends an entry; data_json is a JSON object (serialized). Returns the entry's index.
Result<std::int64_t> append(store::Tx& tx, const Clock& clock, std::string_view kind,
                            std::optional<std::int64_t> actor, std::string_view data_json);

// Ledger transfers of at least this many minor units are audited (config audit_money_threshold);
// process-wide, set once at start.
void set_money_threshold(std::int64_t minor_units);
std::int64_t money_threshold();

Result<Page<Entry>> list_entries(store::Conn& conn, std::int64_t after,
                                 std::optional<std::string> kind, std::size_t limit);
Result<Entry> get_entry(store::Conn& conn, std::int64_t idx);
Result<std::optional<Head>> latest_head(store::Conn& conn);
Result<Head> get_head(store::Conn& conn, std::int64_t tree_size);
Result<std::vector<Head>> list_heads(store::Conn& conn, std::int64_t before, std::size_t limit);

// Proofs as hex hashes, for a tree size that has a signed head.
Result<std::vector<std::string>> inclusion_proof(store::Conn& conn, std::int64_t idx,
                                                 std::int64_t tree_size);
Result<std::vector<std::string>> consistency_proof(store::Conn& conn, std::int64_t first,
                                                   std::int64_t second);

// Signs `text`; returns {algorithm, signer serial, base64 signature}.
struct HeadSignature {
  std::string algorithm, signer_serial, signature;
};
using HeadSigner = std::function<Result<HeadSignature>(std::string_view text)>;
// Checks a head's signature: (text, signer serial, base64 signature).
using HeadVerifier =
    std::function<bool(std::string_view text, std::string_view serial, std::string_view sig)>;

// A new signed head over the log as `conn` sees it, when it grew since the last head; nullopt
// when it did not. Runs on a read connection: entries never change, so a head computed on a
// snapshot stays true. save_head stores it (a head already there is left as it is).
Result<std::optional<Head>> make_head(store::Conn& conn, const Env& env, const HeadSigner& signer);
Status save_head(store::Tx& tx, const Head& head);

struct Report {
  bool ok = true;
  std::int64_t entries = 0, heads = 0;
  std::vector<std::string> problems;
};
// Recomputes every leaf hash and every head's root, and checks each head's signature.
Result<Report> verify_log(store::Conn& conn, const HeadVerifier& verifier);

}  // namespace jishi::audit

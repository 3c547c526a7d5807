-- The certification authority (pki/), electronic signatures and the audit log (audit/).

-- The installation's own CA material: one row per role (root, issuing, ocsp, tsa, platform).
-- The root key is a PKCS#8 PEM encrypted under the CA officer's passphrase; the others are
-- sealed with the server's field cipher.
CREATE TABLE pki_ca (
  role TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,         -- sm2 | p256 | rsa3072
  serial TEXT NOT NULL,            -- lower-case hex
  cert_pem TEXT NOT NULL,
  key_sealed TEXT NOT NULL,
  base_url TEXT NOT NULL,          -- CRL and OCSP URLs are built from it
  created_at_us BIGINT NOT NULL
);

-- Every certificate the issuing CA (or, for cross-certificates, the root) has issued.
CREATE TABLE pki_certs (
  serial TEXT PRIMARY KEY,         -- lower-case hex of the 128-bit random serial
  profile TEXT NOT NULL,           -- signing | tls_server | tsa | ocsp | cross
  issuer TEXT NOT NULL,            -- issuing | root
  subject TEXT NOT NULL,           -- RFC 2253 text of the subject
  algorithm TEXT NOT NULL,         -- of the subject key: sm2 | p256 | rsa3072 | other
  user_id BIGINT,                  -- the holder: a person ...
  org_id BIGINT,                   -- ... or an organisation (merchant)
  cert_pem TEXT NOT NULL,
  key_sealed TEXT,                 -- custodial private key (PEM, sealed); NULL: the holder's own
  not_before_us BIGINT NOT NULL,
  not_after_us BIGINT NOT NULL,
  status TEXT NOT NULL,            -- good | revoked
  revoked_at_us BIGINT,
  revocation_reason TEXT,
  revoked_by BIGINT,
  issued_by BIGINT,                -- the user who asked (subject or CA officer)
  created_at_us BIGINT NOT NULL
);
CREATE INDEX pki_certs_user ON pki_certs(user_id, created_at_us);
CREATE INDEX pki_certs_org ON pki_certs(org_id, created_at_us);
CREATE INDEX pki_certs_revoked ON pki_certs(status, revoked_at_us);

-- External CAs a CA officer imported for cross-certification.
CREATE TABLE pki_external_cas (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL,
  subject TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE, -- SHA-256 of the DER, hex
  cert_pem TEXT NOT NULL,
  cross_serial TEXT,                -- our cross-certificate for it, once issued
  imported_by BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL
);

-- Issued CRLs; the newest is served at /pki/crl.
CREATE TABLE pki_crls (
  number BIGINT PRIMARY KEY,
  der_base64 TEXT NOT NULL,         -- the DER, base64 (engine-neutral)
  this_update_us BIGINT NOT NULL,
  next_update_us BIGINT NOT NULL,
  revoked_count BIGINT NOT NULL
);

-- Signed documents: the detached CMS, its timestamp and the OCSP answer at signing time.
CREATE TABLE pki_signatures (
  id BIGINT PRIMARY KEY,
  signer_serial TEXT NOT NULL,
  user_id BIGINT,
  org_id BIGINT,
  document_name TEXT NOT NULL,
  document_sha256 TEXT NOT NULL,
  document_sm3 TEXT NOT NULL,
  document_size BIGINT NOT NULL,
  subject_ref TEXT,                 -- what it is about, e.g. order:123
  algorithm TEXT NOT NULL,
  package TEXT NOT NULL,            -- the evidence package (JSON)
  created_at_us BIGINT NOT NULL
);
CREATE INDEX pki_signatures_user ON pki_signatures(user_id, id);
CREATE INDEX pki_signatures_org ON pki_signatures(org_id, id);

-- The audit log: an append-only Merkle tree (RFC 6962 hashing). entry is the exact leaf data
-- (canonical JSON), leaf_hash = SHA-256(0x00 || entry).
CREATE TABLE audit_entries (
  idx BIGINT PRIMARY KEY,           -- 0, 1, 2, ... without gaps
  at_us BIGINT NOT NULL,
  kind TEXT NOT NULL,
  actor BIGINT,
  entry TEXT NOT NULL,
  leaf_hash TEXT NOT NULL
);
CREATE INDEX audit_entries_kind ON audit_entries(kind, idx);

-- Signed tree heads.
CREATE TABLE audit_heads (
  tree_size BIGINT PRIMARY KEY,
  root_hash TEXT NOT NULL,
  at_us BIGINT NOT NULL,
  algorithm TEXT NOT NULL,
  signer_serial TEXT NOT NULL,
  signature TEXT NOT NULL           -- base64 over the head's canonical text
);

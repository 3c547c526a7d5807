"""The certification authority, signatures, timestamps, the audit log and key rotation, checked
with the system `openssl` binary wherever the issue asks: everything jishi issues or signs must
verify with stock tools, not only with jishi's own code.

OpenSSL 3.0's command line applies an SM2 distinguishing ID (-vfyopt distid:...) to the leaf of a
chain only, so SM2 chains are verified link by link (root -> issuing, issuing -> leaf with
-partial_chain); ECDSA chains verify in one command. See docs/pki.md."""
import base64
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_PASSWORD, JISHI, Server, resident_id, uscc, wait_until

DISTID = "distid:1234567812345678"
PASSPHRASE = "correct horse battery staple"


def run(*args, ok=True, input=None):
    out = subprocess.run(list(args), capture_output=True, timeout=120, input=input)
    if ok:
        assert out.returncode == 0, "%s failed: %s %s" % (args, out.stdout.decode(), out.stderr.decode())
    return out


def ca_init(data_dir, algorithm):
    env = dict(os.environ, JISHI_CA_PASSPHRASE=PASSPHRASE)
    out = subprocess.run([JISHI, "ca", "init", "--data-dir", data_dir, "--algorithm", algorithm,
                          "--organization", "Test Market", "--base-url", "http://127.0.0.1:1"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


# RFC 9162 2.1.3.2 and 2.1.4.2, for checking the server's proofs independently.
def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def verify_inclusion(leaf, index, size, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, path):
    if first == second:
        return not path and first_root == second_root
    if first & (first - 1) == 0:
        path = [first_root] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Fixture:
    """A server with a CA of one algorithm, an operator, a regulator, a CA officer, a verified
    person and an approved merchant."""

    def __init__(self, algorithm, settings=None):
        self.dir = tempfile.mkdtemp(prefix="jishi-pki-files-")
        self.server = Server(settings=dict({"audit_head_interval_s": "1"}, **(settings or {})))
        self.server.admin_create("operator@example.com", "operator")
        self.server.admin_create("regulator@example.com", "regulator")
        self.server.admin_create("officer@example.com", "ca_officer")
        if algorithm:
            ca_init(self.server.data_dir, algorithm)
        self.server.start()
        s = self.server
        self.base = "http://127.0.0.1:%d" % s.port
        self.op = s.login("operator@example.com", ADMIN_PASSWORD)
        self.reg = s.login("regulator@example.com", ADMIN_PASSWORD)
        self.officer = s.login("officer@example.com", ADMIN_PASSWORD)
        if not algorithm:
            return
        self.person, self.person_user = s.register("signer-%s@example.com" % algorithm, phone="+8613800138001")
        r = self.person.post("/api/v1/me/real-name", {"name": "张三", "resident_id": resident_id(77)})
        assert r.status in (200, 204), r
        self.merchant, _ = s.register("seller-%s@example.com" % algorithm)
        r = self.merchant.post("/api/v1/orgs", {"kind": "merchant", "name": "证书测试商行", "credit_code": uscc(8801)})
        assert r.status == 201, r
        self.org = self.op.post("/api/v1/orgs/%s/approve" % r.json["id"], {"note": "ok"}).json
        self.root = self.save("root.pem", s.client().get("/pki/root.crt").raw)
        self.issuing = self.save("issuing.pem", s.client().get("/pki/issuing.crt").raw)

    def save(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def close(self):
        self.server.cleanup()


class Sm2CaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = Fixture("sm2")

    @classmethod
    def tearDownClass(cls):
        cls.f.close()

    def custodial(self, client=None, path="/api/v1/me/certificates", body=None):
        r = (client or self.f.person).post(path, body or {})
        self.assertEqual(r.status, 201, r)
        return r.json

    def test_issued_certificates_verify_with_openssl_link_by_link(self):
        f = self.f
        run("openssl", "verify", "-vfyopt", DISTID, "-CAfile", f.root, f.issuing)
        cert = self.custodial()
        self.assertTrue(cert["custodial"])
        self.assertIn("CN=张三", cert["subject"])
        self.assertEqual(len(cert["serial"]), 32)
        leaf = f.save("leaf.pem", cert["certificate_pem"])
        run("openssl", "verify", "-partial_chain", "-vfyopt", DISTID, "-CAfile", f.issuing, leaf)
        text = run("openssl", "x509", "-in", leaf, "-noout", "-text").stdout.decode()
        self.assertIn("SM2-with-SM3", text)
        self.assertIn("Non Repudiation", text)
        self.assertIn("/pki/crl", text)
        self.assertIn("OCSP - URI:", text)
        self.assertIn("X509v3 Authority Key Identifier", text)
        # Without the SM2 ID the signature does not verify: it is really made with the ID.
        self.assertNotEqual(run("openssl", "verify", "-partial_chain", "-CAfile", f.issuing, leaf, ok=False).returncode, 0)
        # Another person's certificate is not visible; the regulator and officer see it.
        other, _ = f.server.register("nosy@example.com")
        self.assertEqual(other.get("/api/v1/certificates/" + cert["serial"]).status, 404)
        self.assertEqual(f.reg.get("/api/v1/certificates/" + cert["serial"]).status, 200)

    def test_a_merchant_csr_gets_a_certificate_named_by_its_credit_code(self):
        f = self.f
        key = f.save("m.key", run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2").stdout)
        csr = run("openssl", "req", "-new", "-key", key, "-sm3", "-sigopt", DISTID, "-subj", "/CN=Anything I like").stdout.decode()
        r = f.merchant.post("/api/v1/orgs/%s/certificates" % f.org["id"], {"csr": csr})
        self.assertEqual(r.status, 201, r)
        self.assertFalse(r.json["custodial"])
        self.assertIn(uscc(8801), r.json["subject"])
        self.assertNotIn("Anything", r.json["subject"])
        leaf = f.save("m.pem", r.json["certificate_pem"])
        run("openssl", "verify", "-partial_chain", "-vfyopt", DISTID, "-CAfile", f.issuing, leaf)
        # The certificate's key is the CSR's.
        pub_cert = run("openssl", "x509", "-in", leaf, "-noout", "-pubkey").stdout
        pub_key = run("openssl", "pkey", "-in", key, "-pubout").stdout
        self.assertEqual(pub_cert, pub_key)
        # A request signed without the SM2 ID, garbage, and a stranger: refused, nothing issued.
        bad = run("openssl", "req", "-new", "-key", key, "-sm3", "-subj", "/CN=x").stdout.decode()
        before = len(f.merchant.get("/api/v1/orgs/%s/certificates" % f.org["id"]).json["items"])
        r = f.merchant.post("/api/v1/orgs/%s/certificates" % f.org["id"], {"csr": bad})
        self.assertEqual((r.status, r.code), (400, "validation_failed"), r)
        self.assertIn("distid", r.json["detail"])
        r = f.merchant.post("/api/v1/orgs/%s/certificates" % f.org["id"], {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"})
        self.assertEqual(r.status, 400, r)
        stranger, _ = f.server.register("stranger-csr@example.com")
        self.assertEqual(stranger.post("/api/v1/orgs/%s/certificates" % f.org["id"], {"csr": csr}).status, 404)
        self.assertEqual(len(f.merchant.get("/api/v1/orgs/%s/certificates" % f.org["id"]).json["items"]), before)
        # People without a verified real name get no certificate.
        anon, _ = f.server.register("anon-cert@example.com")
        r = anon.post("/api/v1/me/certificates", {})
        self.assertEqual((r.status, r.code), (409, "invalid_state"), r)

    def test_revocation_shows_in_the_crl_and_the_ocsp_responder(self):
        f = self.f
        keep, gone = self.custodial(), self.custodial()
        keep_pem, gone_pem = f.save("keep.pem", keep["certificate_pem"]), f.save("gone.pem", gone["certificate_pem"])
        url = f.base + "/pki/ocsp"
        out = run("openssl", "ocsp", "-issuer", f.issuing, "-cert", gone_pem, "-url", url, "-noverify").stdout.decode()
        self.assertIn(": good", out)
        r = f.person.post("/api/v1/certificates/%s/revoke" % gone["serial"], {"reason": "keyCompromise"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "revoked")
        crl = f.save("crl.der", f.server.client().get("/pki/crl").raw)
        text = run("openssl", "crl", "-inform", "DER", "-in", crl, "-noout", "-text").stdout.decode()
        self.assertIn(gone["serial"].upper(), text.replace(":", "").upper())
        self.assertNotIn(keep["serial"].upper(), text.replace(":", "").upper())
        self.assertIn("Key Compromise", text)
        out = run("openssl", "ocsp", "-issuer", f.issuing, "-cert", gone_pem, "-url", url, "-noverify").stdout.decode()
        self.assertIn(": revoked", out)
        self.assertIn("Reason: keyCompromise", out)
        out = run("openssl", "ocsp", "-issuer", f.issuing, "-cert", keep_pem, "-url", url, "-noverify").stdout.decode()
        self.assertIn(": good", out)
        # A stranger cannot revoke; bad reasons are refused.
        other, _ = f.server.register("revoker@example.com")
        self.assertEqual(other.post("/api/v1/certificates/%s/revoke" % keep["serial"], {}).status, 404)
        r = f.person.post("/api/v1/certificates/%s/revoke" % keep["serial"], {"reason": "because"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(f.person.get("/api/v1/certificates/" + keep["serial"]).json["status"], "good")
        # OCSP by GET (RFC 6960 A.1) answers too; garbage gets malformedRequest.
        req = f.save("q.der", run("openssl", "ocsp", "-issuer", f.issuing, "-cert", gone_pem, "-reqout", "/dev/stdout", "-no_nonce").stdout)
        with open(req, "rb") as fh:
            b64 = base64.b64encode(fh.read()).decode().replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")
        r = f.server.client().get("/pki/ocsp/" + b64)
        self.assertEqual(r.headers["content-type"], "application/ocsp-response")
        resp = f.save("r.der", r.raw)
        out = run("openssl", "ocsp", "-respin", resp, "-issuer", f.issuing, "-cert", gone_pem, "-noverify").stdout.decode()
        self.assertIn(": revoked", out)
        r = f.server.client().post("/pki/ocsp", raw=b"\x30\x00", content_type="application/ocsp-request")
        self.assertEqual(r.raw, b"\x30\x03\x0a\x01\x01")

    def test_timestamps_verify_with_openssl_ts(self):
        f = self.f
        doc = f.save("ts-doc.txt", "合同正文 " * 100)
        query = f.save("q.tsq", run("openssl", "ts", "-query", "-data", doc, "-sha256", "-cert").stdout)
        with open(query, "rb") as fh:
            r = f.server.client().post("/pki/tsa", raw=fh.read(), content_type="application/timestamp-query")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/timestamp-reply")
        reply = f.save("r.tsr", r.raw)
        tsa = f.save("tsa.pem", f.op.get("/api/v1/pki/ca").json["tsa_pem"])
        # The TSA key is ECDSA P-256 (OpenSSL's TS code cannot sign with SM2); its certificate
        # is issued by the SM2 issuing CA, checked with the ID as its own link.
        run("openssl", "verify", "-partial_chain", "-vfyopt", DISTID, "-CAfile", f.issuing, tsa)
        out = run("openssl", "ts", "-verify", "-data", doc, "-in", reply, "-CAfile", tsa, "-partial_chain").stdout.decode()
        self.assertIn("Verification: OK", out)
        other = f.save("other.txt", "another document")
        self.assertNotEqual(run("openssl", "ts", "-verify", "-data", other, "-in", reply, "-CAfile", tsa, "-partial_chain", ok=False).returncode, 0)
        text = run("openssl", "ts", "-reply", "-in", reply, "-text").stdout.decode()
        self.assertIn("Status: Granted", text)
        r = f.server.client().post("/pki/tsa", raw=b"garbage", content_type="application/timestamp-query")
        self.assertEqual(r.status, 200)
        self.assertIn("Rejected", run("openssl", "ts", "-reply", "-in", f.save("bad.tsr", r.raw), "-text").stdout.decode())
        self.assertEqual(f.server.client().post("/pki/tsa", raw=b"x", content_type="text/plain").status, 415)

    def test_an_sm2_signature_verifies_with_openssl_pkeyutl_and_offline(self):
        f = self.f
        cert = self.custodial()
        doc = "采购合同：甲方 证书测试商行，乙方 张三；总价 ¥12,345.67。".encode()
        r = f.person.post("/api/v1/signatures?certificate_serial=%s&document_name=contract.txt&subject_ref=order:1" % cert["serial"],
                          raw=doc, content_type="application/octet-stream")
        self.assertEqual(r.status, 201, r)
        pkg = r.json["package"]
        self.assertEqual(pkg["signature"]["algorithm"], "SM2-with-SM3")
        self.assertEqual(pkg["document"]["sha256"], hashlib.sha256(doc).hexdigest())
        attrs = base64.b64decode(pkg["signature"]["signed_attributes"])
        sig = base64.b64decode(pkg["signature"]["signature_value"])
        cms = base64.b64decode(pkg["signature"]["cms"])
        self.assertIn(attrs[1:], cms)  # the same bytes, tagged [0] inside the SignerInfo
        self.assertIn(sig, cms)
        leaf = f.save("s-leaf.pem", pkg["certificates"][0])
        pub = f.save("s-pub.pem", run("openssl", "x509", "-in", leaf, "-noout", "-pubkey").stdout)
        attrs_file, sig_file = f.save("attrs.der", attrs), f.save("sig.bin", sig)
        out = run("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
                  "-pkeyopt", DISTID, "-in", attrs_file, "-sigfile", sig_file).stdout.decode()
        self.assertIn("Signature Verified Successfully", out)
        bad_attrs = f.save("attrs-bad.der", attrs[:-1] + bytes([attrs[-1] ^ 1]))
        self.assertNotEqual(run("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
                                "-pkeyopt", DISTID, "-in", bad_attrs, "-sigfile", sig_file, ok=False).returncode, 0)
        # The signed attributes carry SM3(document) as the message digest.
        sm3 = run("openssl", "dgst", "-sm3", "-binary", input=doc).stdout
        self.assertIn(sm3, attrs)
        # The timestamp token in the package is over the signature value and verifies.
        tsa = f.save("s-tsa.pem", pkg["tsa_certificate"])
        token = f.save("token.der", base64.b64decode(pkg["timestamp_token"]))
        out = run("openssl", "ts", "-verify", "-digest", hashlib.sha256(sig).hexdigest(), "-in", token,
                  "-token_in", "-CAfile", tsa, "-partial_chain").stdout.decode()
        self.assertIn("Verification: OK", out)
        # Offline: `jishi verify signature` with no server.
        package = f.save("evidence.json", json.dumps(pkg))
        docfile = f.save("contract.txt", doc)
        out = run(JISHI, "verify", "signature", package, "--document", docfile, "--trust", f.root).stdout.decode()
        self.assertIn("signature VALID", out)
        for check in ("document", "signature", "timestamp", "certificate_path", "ocsp"):
            self.assertIn(check + ": ok", out)
        changed = f.save("contract2.txt", doc + b" ")
        self.assertEqual(run(JISHI, "verify", "signature", package, "--document", changed, "--trust", f.root, ok=False).returncode, 1)
        for i in range(0, len(cms), max(1, len(cms) // 40)):
            t = dict(pkg, signature=dict(pkg["signature"], cms=base64.b64encode(cms[:i] + bytes([cms[i] ^ 1]) + cms[i + 1:]).decode()))
            bad = f.save("evidence-bad.json", json.dumps(t))
            self.assertEqual(run(JISHI, "verify", "signature", bad, "--document", docfile, "--trust", f.root, ok=False).returncode, 1,
                             "byte %d of the CMS changed and still verified" % i)
        # A root we do not trust.
        stranger_key = f.save("x.key", run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2").stdout)
        stranger = f.save("x.pem", run("openssl", "req", "-new", "-x509", "-key", stranger_key, "-sm3", "-sigopt", DISTID, "-subj", "/CN=x").stdout)
        self.assertEqual(run(JISHI, "verify", "signature", package, "--trust", stranger, ok=False).returncode, 1)
        # Over the API, and the download.
        v = f.server.client().post("/api/v1/signatures/verify", {"package": pkg, "document_base64": base64.b64encode(doc).decode()})
        self.assertEqual(v.status, 200, v)
        self.assertTrue(v.json["valid"], v)
        v = f.server.client().post("/api/v1/signatures/verify", {"package": pkg, "document_base64": base64.b64encode(b"x").decode()})
        self.assertFalse(v.json["valid"])
        d = f.person.get("/api/v1/signatures/%s/package" % r.json["id"])
        self.assertEqual(json.loads(d.body), pkg)
        self.assertIn("attachment", d.headers["content-disposition"])
        # Revoked afterwards: the signature stays valid (it was made before).
        f.person.post("/api/v1/certificates/%s/revoke" % cert["serial"], {"reason": "superseded"})
        v = f.server.client().post("/api/v1/signatures/verify", {"package": pkg})
        self.assertTrue(v.json["valid"], v)
        # And a revoked certificate signs nothing more.
        r = f.person.post("/api/v1/signatures?certificate_serial=%s&document_name=x" % cert["serial"], raw=b"x",
                          content_type="application/octet-stream")
        self.assertEqual(r.status, 409, r)

    def test_the_audit_log_proves_inclusion_and_consistency_and_its_heads_verify_with_openssl(self):
        f = self.f
        self.custodial()
        r = f.server.client().post("/api/v1/auth/login", {"login": "signer-sm2@example.com", "password": "wrong-password"})
        self.assertEqual(r.status, 401)
        self.assertEqual(f.person.get("/api/v1/audit/entries").status, 403)

        def latest():
            r = f.reg.get("/api/v1/audit/heads/latest")
            return r.json if r.status == 200 else None

        total = lambda: len(self.all_entries())
        n = total()
        wait_until(lambda: latest() and latest()["tree_size"] >= n, what="a signed head")
        head = latest()
        kinds = {e["kind"] for e in self.all_entries()}
        for k in ("auth.login", "auth.login_failed", "pki.certificate_issued"):
            self.assertIn(k, kinds)
        # The head's signature, by the platform's SM2 certificate, verifies with openssl.
        signer = f.save("platform.pem", f.server.client().get("/pki/certs/%s.pem" % head["signer_serial"]).raw)
        pub = f.save("platform-pub.pem", run("openssl", "x509", "-in", signer, "-noout", "-pubkey").stdout)
        text = f.save("head.txt", head["signed_text"])
        sig = f.save("head.sig", base64.b64decode(head["signature"]))
        out = run("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
                  "-pkeyopt", DISTID, "-in", text, "-sigfile", sig).stdout.decode()
        self.assertIn("Signature Verified Successfully", out)
        size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
        for i in range(size):
            p = f.reg.get("/api/v1/audit/proofs/inclusion?index=%d&tree_size=%d" % (i, size)).json
            leaf = leaf_hash(p["entry"].encode())
            self.assertEqual(leaf.hex(), p["leaf_hash"])
            self.assertTrue(verify_inclusion(leaf, i, size, [bytes.fromhex(h) for h in p["audit_path"]], root), i)
            self.assertFalse(verify_inclusion(leaf_hash(p["entry"].encode() + b" "), i, size,
                                              [bytes.fromhex(h) for h in p["audit_path"]], root))
        # More entries, a later head, and a consistency proof between them.
        self.custodial()
        wait_until(lambda: latest()["tree_size"] > size, what="a later head")
        later = latest()
        c = f.reg.get("/api/v1/audit/proofs/consistency?first=%d&second=%d" % (size, later["tree_size"])).json
        self.assertTrue(verify_consistency(size, later["tree_size"], root, bytes.fromhex(later["root_hash"]),
                                           [bytes.fromhex(h) for h in c["consistency"]]))
        self.assertEqual(f.reg.get("/api/v1/audit/proofs/inclusion?index=0&tree_size=999999").status, 404)
        out = run(JISHI, "verify", "audit", "--data-dir", f.server.data_dir).stdout.decode()
        self.assertIn("audit ok", out)

    def all_entries(self):
        out, cursor = [], None
        while True:
            r = self.f.reg.get("/api/v1/audit/entries?limit=100" + ("&cursor=%s" % cursor if cursor is not None else ""))
            out += r.json["items"]
            cursor = r.json["next_cursor"]
            if cursor is None:
                return out

    def test_sm2_cross_certification_verifies_link_by_link_and_through_the_api(self):
        f = self.f

        def key(name):
            return f.save(name, run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2").stdout)

        def sign(k, subj, ca, ca_key, name, ext=None):
            csr = f.save(name + ".csr", run("openssl", "req", "-new", "-key", k, "-sm3", "-sigopt", DISTID, "-subj", subj).stdout)
            args = ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "365",
                    "-sm3", "-sigopt", DISTID, "-vfyopt", DISTID]
            if ext:
                args += ["-extfile", ext]
            return f.save(name, run(*args).stdout)

        ext = f.save("sm2-ca.ext", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
        rk, ik, lk, ok_ = key("sr.key"), key("si.key"), key("sl.key"), key("so.key")
        ext_root = f.save("sr.pem", run("openssl", "req", "-new", "-x509", "-key", rk, "-sm3", "-sigopt", DISTID,
                                         "-subj", "/C=CN/O=SM Partner/CN=SM Partner Root", "-days", "3650",
                                         "-addext", "basicConstraints=critical,CA:true",
                                         "-addext", "keyUsage=critical,keyCertSign,cRLSign").stdout)
        ext_int = sign(ik, "/C=CN/O=SM Partner/CN=SM Partner Sub", ext_root, rk, "si.pem", ext)
        ext_leaf = sign(lk, "/C=CN/O=SM Partner/CN=SM Partner Shop", ext_int, ik, "sl.pem")
        outside = sign(ok_, "/C=CN/O=Someone Else/CN=Other Shop", ext_int, ik, "so.pem")
        with open(ext_root) as fh:
            r = f.officer.post("/api/v1/pki/external-cas", {"name": "SM Partner CA", "certificate_pem": fh.read()})
        self.assertEqual(r.status, 201, r)
        r = f.officer.post("/api/v1/pki/external-cas/%s/cross-certificate" % r.json["id"],
                           {"passphrase": PASSPHRASE, "path_length": 1, "permitted_dirs": ["/C=CN/O=SM Partner"]})
        self.assertEqual(r.status, 201, r)
        cross = f.save("sm2-cross.pem", r.json["certificate_pem"])
        # Each link with stock openssl: our root signed the cross-certificate; the partner's
        # sub-CA is signed by the key the cross-certificate certifies; the leaf by the sub-CA.
        run("openssl", "verify", "-vfyopt", DISTID, "-CAfile", f.root, cross)
        run("openssl", "verify", "-partial_chain", "-vfyopt", DISTID, "-CAfile", cross, ext_int)
        run("openssl", "verify", "-partial_chain", "-vfyopt", DISTID, "-CAfile", ext_int, ext_leaf)
        # The whole path, by jishi (the SM2 ID on every link), with the name constraints.
        with open(ext_leaf) as a, open(ext_int) as b, open(outside) as c:
            leaf_pem, int_pem, outside_pem = a.read(), b.read(), c.read()
        v = f.server.client().post("/api/v1/pki/validate", {"certificate_pem": leaf_pem, "chain_pem": int_pem}).json
        self.assertTrue(v["valid"], v)
        self.assertEqual(len(v["path"]), 4)
        self.assertIn("SM Partner Shop", v["path"][0])
        self.assertIn("Test Market Root CA", v["path"][-1])
        v = f.server.client().post("/api/v1/pki/validate", {"certificate_pem": outside_pem, "chain_pem": int_pem}).json
        self.assertFalse(v["valid"])
        v = f.server.client().post("/api/v1/pki/validate", {"certificate_pem": leaf_pem}).json
        self.assertFalse(v["valid"])  # without the partner's sub-CA there is no path
        r = f.server.client().post("/api/v1/pki/validate", {"certificate_pem": "nope"})
        self.assertEqual(r.status, 400)

    def test_z_key_rotation_reencrypts_personal_data_in_the_background(self):
        f = self.f
        db = sqlite3.connect("file:%s?mode=ro" % f.server.db_path, uri=True)
        before = db.execute("SELECT phone_enc FROM users WHERE id = ?", (int(f.person_user["id"]),)).fetchone()[0]
        self.assertTrue(before.startswith("k1:"))
        out = run(JISHI, "keys", "rotate", "--data-dir", f.server.data_dir, "--scheme", "aes").stdout.decode()
        self.assertIn("new current key k2", out)

        def settled():
            # The whole count: "10 value(s) still under older keys" ends with "0 value(s)…" too.
            out = run(JISHI, "keys", "status", "--data-dir", f.server.data_dir).stdout.decode()
            m = re.search(r"; (\d+) value\(s\) still under older keys", out)
            self.assertIsNotNone(m, out)
            return int(m.group(1)) == 0

        wait_until(settled, timeout=60, what="re-encryption under k2")
        after = db.execute("SELECT phone_enc FROM users WHERE id = ?", (int(f.person_user["id"]),)).fetchone()[0]
        self.assertTrue(after.startswith("k2:"), after)
        # The phone is decrypted (under the new key) to be shown masked.
        self.assertEqual(f.person.get("/api/v1/me").json["user"]["phone"], "+86138****8001")
        sealed = db.execute("SELECT key_sealed FROM pki_ca WHERE role = 'issuing'").fetchone()[0]
        self.assertTrue(sealed.startswith("k2:"), sealed[:8])
        db.close()
        # The CA still signs with its re-encrypted key after a restart.
        f.server.stop()
        f.server.start()
        f.person = f.server.client(f.person.token)
        f.reg = f.server.client(f.reg.token)
        self.custodial()
        self.assertIn("audit ok", run(JISHI, "verify", "audit", "--data-dir", f.server.data_dir).stdout.decode())
        # Tampering with the stored log is caught by `jishi verify audit`.
        f.server.stop()
        db = sqlite3.connect(f.server.db_path)
        db.execute("UPDATE audit_entries SET entry = replace(entry, 'role', 'rolE') WHERE idx = 1")
        db.commit()
        db.close()
        out = run(JISHI, "verify", "audit", "--data-dir", f.server.data_dir, ok=False)
        self.assertEqual(out.returncode, 1)
        self.assertIn("audit FAILED", out.stdout.decode())
        f.server.start()


class EcdsaCaTest(unittest.TestCase):
    """ECDSA P-256 (and an RSA signer) for international partners: whole chains, OCSP responses,
    timestamps and CMS signatures verify with single stock openssl commands."""

    @classmethod
    def setUpClass(cls):
        cls.f = Fixture("p256")

    @classmethod
    def tearDownClass(cls):
        cls.f.close()

    def test_chain_ocsp_and_timestamps_verify_in_one_command_each(self):
        f = self.f
        cert = f.person.post("/api/v1/me/certificates", {}).json
        leaf = f.save("leaf.pem", cert["certificate_pem"])
        self.assertIn(": OK", run("openssl", "verify", "-CAfile", f.root, "-untrusted", f.issuing, leaf).stdout.decode())
        out = run("openssl", "ocsp", "-issuer", f.issuing, "-CAfile", f.root, "-cert", leaf, "-url", f.base + "/pki/ocsp")
        self.assertIn("Response verify OK", out.stderr.decode())
        self.assertIn(": good", out.stdout.decode())
        f.person.post("/api/v1/certificates/%s/revoke" % cert["serial"], {"reason": "cessationOfOperation"})
        out = run("openssl", "ocsp", "-issuer", f.issuing, "-CAfile", f.root, "-cert", leaf, "-url", f.base + "/pki/ocsp")
        self.assertIn("Response verify OK", out.stderr.decode())
        self.assertIn(": revoked", out.stdout.decode())
        crl = f.save("crl.der", f.server.client().get("/pki/crl").raw)
        out = run("openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", f.issuing, "-noout", "-text")
        self.assertIn("verify OK", out.stderr.decode())
        doc = f.save("doc.bin", os.urandom(5000))
        q = run("openssl", "ts", "-query", "-data", doc, "-sha256", "-cert").stdout
        r = f.server.client().post("/pki/tsa", raw=q, content_type="application/timestamp-query")
        reply = f.save("r.tsr", r.raw)
        out = run("openssl", "ts", "-verify", "-data", doc, "-in", reply, "-CAfile", f.root, "-untrusted", f.issuing)
        self.assertIn("Verification: OK", out.stdout.decode())

    def test_ecdsa_and_rsa_signatures_verify_with_openssl_cms(self):
        f = self.f
        for algorithm, label in (("p256", "ECDSA-with-SHA256"), ("rsa3072", "RSA-with-SHA256")):
            cert = f.person.post("/api/v1/me/certificates", {"algorithm": algorithm})
            self.assertEqual(cert.status, 201, cert)
            doc = ("Purchase contract %s: 100 units at CNY 1,000.00" % algorithm).encode()
            r = f.person.post("/api/v1/signatures?certificate_serial=%s&document_name=c.txt" % cert.json["serial"],
                              raw=doc, content_type="application/octet-stream")
            self.assertEqual(r.status, 201, r)
            pkg = r.json["package"]
            self.assertEqual(pkg["signature"]["algorithm"], label)
            sig = f.save("sig-%s.der" % algorithm, base64.b64decode(pkg["signature"]["cms"]))
            docf = f.save("doc-%s.txt" % algorithm, doc)
            out = run("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", docf,
                      "-CAfile", f.root, "-purpose", "any", "-out", "/dev/null")
            self.assertIn("Verification successful", out.stderr.decode())
            bad = f.save("doc-bad.txt", doc + b"!")
            self.assertNotEqual(run("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", bad,
                                    "-CAfile", f.root, "-purpose", "any", "-out", "/dev/null", ok=False).returncode, 0)
            out = run(JISHI, "verify", "signature", f.save("e.json", json.dumps(pkg)), "--document", docf, "--trust", f.root)
            self.assertIn("signature VALID", out.stdout.decode())

    def test_cross_certification_validates_an_external_chain_within_its_name_constraints(self):
        f = self.f
        d = f.dir

        def gen(name):
            return f.save(name, run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").stdout)

        ca_ext = f.save("ca.ext", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
        ext_root_key, ext_int_key, ext_leaf_key, other_key = gen("er.key"), gen("ei.key"), gen("el.key"), gen("eo.key")
        ext_root = f.save("er.pem", run("openssl", "req", "-new", "-x509", "-key", ext_root_key, "-subj", "/C=CN/O=Partner/CN=Partner Root",
                                         "-days", "3650", "-addext", "basicConstraints=critical,CA:true",
                                         "-addext", "keyUsage=critical,keyCertSign,cRLSign").stdout)

        def sign(key, subj, ca, ca_key, name, ext=None):
            csr = f.save(name + ".csr", run("openssl", "req", "-new", "-key", key, "-subj", subj).stdout)
            args = ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "365"]
            if ext:
                args += ["-extfile", ext]
            return f.save(name, run(*args).stdout)

        ext_int = sign(ext_int_key, "/C=CN/O=Partner/CN=Partner Sub CA", ext_root, ext_root_key, "ei.pem", ca_ext)
        ext_leaf = sign(ext_leaf_key, "/C=CN/O=Partner/CN=Partner Merchant", ext_int, ext_int_key, "el.pem")
        outside = sign(other_key, "/C=CN/O=Elsewhere/CN=Not Partner", ext_int, ext_int_key, "eo.pem")
        with open(ext_root) as fh:
            r = f.officer.post("/api/v1/pki/external-cas", {"name": "Partner CA", "certificate_pem": fh.read()})
        self.assertEqual(r.status, 201, r)
        ext_id = r.json["id"]
        self.assertEqual(f.op.post("/api/v1/pki/external-cas", {"name": "x", "certificate_pem": "x"}).status, 403)
        r = f.officer.post("/api/v1/pki/external-cas/%s/cross-certificate" % ext_id,
                           {"passphrase": "not the passphrase", "path_length": 1, "permitted_dirs": ["/C=CN/O=Partner"]})
        self.assertEqual(r.status, 403, r)
        r = f.officer.post("/api/v1/pki/external-cas/%s/cross-certificate" % ext_id,
                           {"passphrase": PASSPHRASE, "path_length": 1, "permitted_dirs": ["/C=CN/O=Partner"]})
        self.assertEqual(r.status, 201, r)
        cross = f.save("cross.pem", r.json["certificate_pem"])
        text = run("openssl", "x509", "-in", cross, "-noout", "-text").stdout.decode()
        self.assertIn("Name Constraints", text)
        self.assertIn("pathlen:1", text)
        out = run("openssl", "verify", "-CAfile", f.root, "-untrusted", cross, "-untrusted", ext_int, ext_leaf)
        self.assertIn(": OK", out.stdout.decode())
        self.assertNotEqual(run("openssl", "verify", "-CAfile", f.root, "-untrusted", ext_int, ext_leaf, ok=False).returncode, 0)
        self.assertNotEqual(run("openssl", "verify", "-CAfile", f.root, "-untrusted", cross, "-untrusted", ext_int, outside,
                                ok=False).returncode, 0)
        listed = f.officer.get("/api/v1/pki/external-cas").json["items"]
        self.assertEqual(listed[0]["cross_certificate_serial"], r.json["serial"])
        with open(ext_leaf) as a, open(ext_int) as b:
            v = f.server.client().post("/api/v1/pki/validate", {"certificate_pem": a.read(), "chain_pem": b.read()}).json
        self.assertTrue(v["valid"], v)

    def test_bad_dns_names_are_refused_for_every_issuer(self):
        f = self.f
        before = len(f.officer.get("/api/v1/pki/certificates?limit=100").json["items"])
        for names in (["Bad Name!"], [123], ["ok.example"] * 21, "shop.example"):
            r = f.officer.post("/api/v1/pki/certificates",
                               {"profile": "tls_server", "common_name": "shop", "dns_names": names})
            self.assertEqual((r.status, r.code), (400, "validation_failed"), (names, r))
            r = f.merchant.post("/api/v1/orgs/%s/certificates" % f.org["id"],
                                {"profile": "tls_server", "dns_names": names})
            self.assertEqual((r.status, r.code), (400, "validation_failed"), (names, r))
        self.assertEqual(len(f.officer.get("/api/v1/pki/certificates?limit=100").json["items"]), before)
        r = f.officer.post("/api/v1/pki/certificates",
                           {"profile": "tls_server", "common_name": "shop", "dns_names": ["*.shop.example"]})
        self.assertEqual(r.status, 201, r)

    def test_api_key_use_is_audited_once_per_day_and_address(self):
        f = self.f
        r = f.merchant.post("/api/v1/orgs/%s/api-keys" % f.org["id"], {"name": "erp", "scopes": ["read"]})
        self.assertEqual(r.status, 201, r)
        key_id, erp = r.json["id"], f.server.client(r.json["token"])
        for _ in range(3):
            self.assertEqual(erp.get("/api/v1/orgs/%s/events" % f.org["id"]).status, 200)

        def used():
            items = f.reg.get("/api/v1/audit/entries?kind=identity.api_key_used&limit=100").json["items"]
            return [e for e in items if e["data"]["api_key_id"] == key_id] or None

        wait_until(used, what="the API key's use in the audit log")
        time.sleep(0.3)
        self.assertEqual(len(used()), 1)
        created = f.reg.get("/api/v1/audit/entries?kind=identity.api_key_created&limit=100").json["items"]
        self.assertIn(key_id, [e["data"]["api_key_id"] for e in created])


class NoCaTest(unittest.TestCase):
    def test_without_a_ca_the_pki_urls_say_how_to_make_one(self):
        f = Fixture(None)
        try:
            for path in ("/pki/root.crt", "/pki/issuing.crt", "/pki/crl", "/api/v1/pki/ca"):
                r = f.server.client().get(path)
                self.assertEqual((r.status, r.code), (503, "unavailable"), path)
                self.assertIn("jishi ca init", r.json["detail"])
            r = f.server.client().post("/pki/tsa", raw=b"x", content_type="application/timestamp-query")
            self.assertEqual(r.status, 503)
        finally:
            f.close()


if __name__ == "__main__":
    unittest.main()

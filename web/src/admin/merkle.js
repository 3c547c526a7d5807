// RFC 6962 / RFC 9162 Merkle tree proofs checked in the browser with WebCrypto SHA-256.
// The audit log's proofs are checked here, not taken on trust.
export const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
export const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}
export const leafHash = (text) => sha256(new Uint8Array([0]), new TextEncoder().encode(text));
export const nodeHash = (l, r) => sha256(new Uint8Array([1]), l, r);

// RFC 9162 2.1.3.2.
export async function verifyInclusion(leaf, index, size, path, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hex(r) === hex(root);
}

// RFC 9162 2.1.4.2: the tree of size `first` (root firstHash) is a prefix of the tree of size
// `second` (root secondHash).
export async function verifyConsistency(first, second, firstHash, secondHash, proof) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && hex(firstHash) === hex(secondHash);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstHash, ...proof] : proof;
  let fn = first - 1, sn = second - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && hex(fr) === hex(firstHash) && hex(sr) === hex(secondHash);
}


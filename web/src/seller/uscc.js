// The Unified Social Credit Code (统一社会信用代码, GB 32100-2015): 18 characters from a
// 31-character alphabet (digits and capitals without I, O, Z, S, V). Characters 1–2 name the
// registration authority and kind, 3–8 the administrative region (GB/T 2260, digits), 9–17
// the organisation code, and the 18th is a check character over the first 17 (weights 3^i
// mod 31). The server checks the same; this is for messages while the user types.
export const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function usccCheckChar(body17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(body17[i]) * WEIGHTS[i];
  return USCC_ALPHABET[(31 - (sum % 31)) % 31];
}

// Upper-cases and drops spaces, as people paste codes with both.
export function normalizeUscc(s) {
  return (s || "").replace(/\s+/g, "").toUpperCase();
}

// null when the code is valid; otherwise { key, params } of an i18n message under
// seller.uscc, the first problem found reading left to right.
export function checkUscc(raw) {
  const s = normalizeUscc(raw);
  if (!s) return { key: "required" };
  for (let i = 0; i < s.length; i++) {
    if (!USCC_ALPHABET.includes(s[i])) {
      return "IOZSV".includes(s[i]) ? { key: "letterNotUsed", params: { pos: i + 1, ch: s[i] } }
                                    : { key: "badChar", params: { pos: i + 1, ch: s[i] } };
    }
  }
  const region = s.slice(2, 8);
  if (/[^0-9]/.test(region)) return { key: "region" };
  if (s.length < 18) return { key: "tooShort", params: { n: 18 - s.length } };
  if (s.length > 18) return { key: "tooLong", params: { n: s.length - 18 } };
  if (usccCheckChar(s.slice(0, 17)) !== s[17]) return { key: "checkDigit" };
  return null;
}

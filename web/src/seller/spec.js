// A SKU's spec typed as "颜色:红色 尺码:L" (the API's spec_text form; full-width colons and
// commas work too) to the API's object, and back. At most 5 attributes, 1..60 bytes each.
const bytes = (s) => new TextEncoder().encode(s).length;

// { spec } or { error: "pair" | "tooMany" | "tooLong" | "duplicate" }.
export function parseSpec(text) {
  const spec = {};
  const parts = String(text || "").split(/[\s,，;；]+/).filter(Boolean);
  if (parts.length > 5) return { error: "tooMany" };
  for (const p of parts) {
    const m = /^([^:：]+)[:：](.+)$/.exec(p);
    if (!m) return { error: "pair" };
    const [name, value] = [m[1].trim(), m[2].trim()];
    if (!name || !value) return { error: "pair" };
    if (bytes(name) > 60 || bytes(value) > 60) return { error: "tooLong" };
    if (name in spec) return { error: "duplicate" };
    spec[name] = value;
  }
  return { spec };
}

export function specText(spec) {
  return Object.keys(spec || {}).sort().map((k) => `${k}:${spec[k]}`).join(" ");
}

// Money is integer minor units with an ISO 4217 currency; formatting never goes through floats.
const EXPONENT = { CNY: 2, USD: 2, EUR: 2, JPY: 0, HKD: 2 };
const SYMBOL = { CNY: "¥", USD: "$", EUR: "€", JPY: "¥", HKD: "HK$" };

// "12345.67" for CSV and other machine-readable output: the amount in major units, no symbol.
export function decimalAmount(m) {
  const exp = EXPONENT[m.currency] ?? 2;
  const digits = String(Math.abs(m.amount)).padStart(exp + 1, "0");
  return (m.amount < 0 ? "-" : "") + digits.slice(0, digits.length - exp) + (exp ? "." + digits.slice(digits.length - exp) : "");
}

export function formatMoney(m) {
  if (!m) return "";
  const exp = EXPONENT[m.currency] ?? 2;
  const neg = m.amount < 0;
  const digits = String(Math.abs(m.amount)).padStart(exp + 1, "0");
  const whole = digits.slice(0, digits.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = exp ? "." + digits.slice(digits.length - exp) : "";
  return (neg ? "-" : "") + (SYMBOL[m.currency] ?? m.currency + " ") + whole + frac;
}

const MAX_MINOR = 1000000000000; // the API's limit for prices and withdrawals

// An amount typed by a person ("19.9", "1,299.00", "¥5") to integer minor units, by string
// arithmetic only: no parseFloat, no multiplication of a decimal, so ¥0.29 is 29 fen, never
// 28.999…. Returns { amount } (a safe integer) or { error: "format" | "decimals" | "zero" |
// "tooLarge" }.
export function parseAmount(text, currency = "CNY") {
  const exp = EXPONENT[currency] ?? 2;
  const s = String(text ?? "").trim().replace(/^[¥￥$€]/, "").replace(/,/g, "").trim();
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return { error: "format" };
  const frac = m[2] ?? "";
  if (frac.length > exp) return { error: "decimals" };
  const digits = (m[1] + frac.padEnd(exp, "0")).replace(/^0+(?=\d)/, "");
  if (digits.length > 13) return { error: "tooLarge" };
  const amount = Number(digits); // ≤ 13 digits: exact
  if (amount === 0) return { error: "zero" };
  if (amount > MAX_MINOR) return { error: "tooLarge" };
  return { amount };
}

// Minor units back to the plain decimal a form field shows (1999 → "19.99").
export function amountText(amount, currency = "CNY") {
  return decimalAmount({ amount, currency });
}

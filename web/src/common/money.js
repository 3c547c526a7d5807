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

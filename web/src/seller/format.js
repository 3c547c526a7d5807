// Dates and times in the user's locale (the API speaks RFC 3339 UTC).
import { i18n } from "../common/i18n.js";

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(i18n.global.locale.value, { year: "numeric", month: "2-digit", day: "2-digit",
                                                       hour: "2-digit", minute: "2-digit" });
}

export function day(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(i18n.global.locale.value);
}

// Problems in plain words: the code's message (errors.<code>, in the user's language) and, for
// a field-level problem, which field (seller.fields.<name>, else the JSON pointer's last part).
import { errorText } from "../common/i18n.js";

export function problemText(t, e) {
  const text = errorText(t, e);
  if (!e?.field || !["validation_failed", "already_exists", "invalid_state", "insufficient_funds"].includes(e.code)) return text;
  const parts = String(e.field).split("/").filter((p) => p && !/^\d+$/.test(p));
  const name = parts[parts.length - 1] || e.field;
  const key = `seller.fields.${name}`;
  const label = t(key);
  return t("seller.fieldProblem", { text, field: label === key ? name : label });
}

// The category tree (public, cached by the browser for a minute) as options labelled with
// their path: "手机数码 / 手机". Only leaves are offered: products belong in the finest category.
import { api } from "../common/api.js";

let cached = null;

export async function categoryOptions(locale) {
  cached ??= api("GET", "/api/v1/categories").then((r) => r.items);
  const items = await cached.catch((e) => { cached = null; throw e; });
  const byId = new Map(items.map((c) => [c.id, c]));
  const hasChildren = new Set(items.map((c) => c.parent_id).filter(Boolean));
  const label = (c) => (locale === "en-US" && c.name_en) || c.name;
  const path = (c) => (c.parent_id && byId.has(c.parent_id) ? path(byId.get(c.parent_id)) + " / " : "") + label(c);
  return items.filter((c) => !hasChildren.has(c.id)).map((c) => ({ value: c.id, label: path(c) }))
              .sort((a, b) => a.label.localeCompare(b.label, "zh-CN"));
}

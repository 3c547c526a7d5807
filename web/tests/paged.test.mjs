// usePagedList (src/common/paged.js), the "load more" list of the console and the seller center,
// against a fake API of 5 items served 2 a page (CTest web_paged).
import assert from "node:assert/strict";
import { usePagedList } from "../src/common/paged.js";

const all = ["a", "b", "c", "d", "e"];
let failNext = false;
const calls = [];
async function fetchPage(cursor) {
  calls.push(cursor);
  if (failNext) {
    failNext = false;
    throw new Error("down");
  }
  const from = cursor ? Number(cursor) : 0;
  const to = Math.min(from + 2, all.length);
  return { items: all.slice(from, to), next_cursor: to < all.length ? String(to) : null };
}

const list = usePagedList(fetchPage, (e) => `failed: ${e.message}`);
assert.equal(list.loading.value, true, "loading until the first page is in");
await list.load();
assert.deepEqual(list.items.value, ["a", "b"]);
assert.equal(list.next.value, "2");
assert.equal(list.loading.value, false);

await list.load(true);
assert.deepEqual(list.items.value, ["a", "b", "c", "d"], "load(true) appends the next page");

// An error is shown and changes nothing; the next try goes on from the same cursor.
failNext = true;
await list.load(true);
assert.equal(list.error.value, "failed: down");
assert.deepEqual(list.items.value, ["a", "b", "c", "d"]);
assert.equal(list.loading.value, false);
await list.load(true);
assert.equal(list.error.value, "", "a success clears the error");
assert.deepEqual(list.items.value, all);
assert.equal(list.next.value, null, "no cursor after the last page");

// As an event handler (load(event)) it starts over from the first page.
await list.load({ type: "change" });
assert.deepEqual(list.items.value, ["a", "b"]);
assert.deepEqual(calls, [null, "2", "4", "4", null]);
console.log("paged ok: first page, load more, an error that changes nothing, start over");

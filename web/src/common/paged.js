// A cursor-paged list as the API returns it ({items, next_cursor}): load() reads the first page,
// load(true) appends the next one (so `@click="load(true)"` serves a "load more" button, and a
// bare `load` as an event handler starts over). fetchPage(cursor) returns a page, cursor being
// null for the first; it may transform the items. describe(error) gives the text to show.
import { ref } from "vue";

export function usePagedList(fetchPage, describe) {
  const items = ref([]);
  const next = ref(null);
  const loading = ref(true);
  const error = ref("");

  async function load(more = false) {
    const append = more === true;
    loading.value = true;
    error.value = "";
    try {
      const page = await fetchPage(append ? next.value : null);
      items.value = append ? [...items.value, ...page.items] : page.items;
      next.value = page.next_cursor;
    } catch (e) {
      error.value = describe(e);
    } finally {
      loading.value = false;
    }
  }

  return { items, next, loading, error, load };
}

import { invalidRequest } from "../protocol/errors.ts";

/**
 * Where a list page starts: after the item named by the `after` cursor. A cursor naming no item
 * (a file deleted between two pages, or a made-up id) is a 400, not the first page again: a
 * client paging on would otherwise loop over the same items for ever.
 */
export function startAfter(items: readonly { id: string }[], after: string | undefined): number {
  if (after === undefined) return 0;
  const index = items.findIndex((item) => item.id === after);
  if (index === -1) throw invalidRequest(`after names no item of this list (${JSON.stringify(after.slice(0, 64))}: deleted, or never listed here); list again from the start.`, "after", "invalid_cursor");
  return index + 1;
}

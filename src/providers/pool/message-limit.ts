// Bounds on the text the allocator produces. Its messages end up in status conditions (the CRDs cap a
// condition message at 32768 characters and the apiserver rejects the whole status patch beyond that) and
// in Events, and a caller may join several of them; so no one message, nor one list of messages, exceeds
// MESSAGE_LIMIT, whatever the size of the pools. Pure.

/** The most characters one message, or one capped list of messages joined with '; ', may have. */
export const MESSAGE_LIMIT = 4096;

/** At most this many items (overlapping ranges, pools) are spelled out in one message. */
export const ITEM_LIMIT = 5;

const ELLIPSIS = '…';

/** `text`, cut to at most `limit` characters (ending in '…' when cut). */
export function boundText(text: string, limit = MESSAGE_LIMIT): string {
  if (text.length <= limit) return text;
  // Do not split a surrogate pair.
  let end = limit - ELLIPSIS.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/**
 * The first `limit` items joined with ', ', and "and N more <noun>" for the rest: `a, b, c and 7 more pools`.
 */
export function listSome(items: readonly string[], noun: string, limit = ITEM_LIMIT): string {
  const shown = items.slice(0, limit).join(', ');
  const rest = items.length - limit;
  return rest > 0 ? `${shown} and ${rest} more ${noun}` : shown;
}

/**
 * As many of `messages` (each bounded first) as fit in `limit` characters when joined with '; ', and a last
 * "and N more <noun>" for the others, itself within the limit.
 */
export function capMessages(messages: readonly string[], noun: string, limit = MESSAGE_LIMIT): string[] {
  const kept: string[] = [];
  // Room for the separator and the summary line should one be needed.
  const summaryRoom = `; and ${messages.length} more ${noun}`.length;
  let used = 0;
  for (const [index, raw] of messages.entries()) {
    const message = boundText(raw, limit - summaryRoom);
    const cost = (kept.length > 0 ? 2 : 0) + message.length;
    const isLast = index === messages.length - 1;
    if (used + cost + (isLast ? 0 : summaryRoom) > limit) {
      kept.push(`and ${messages.length - index} more ${noun}`);
      return kept;
    }
    kept.push(message);
    used += cost;
  }
  return kept;
}

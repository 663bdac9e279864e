/**
 * Who fetches which symbol: rendezvous (highest-random-weight) hashing. Every client computes the same
 * answer from the same member list, with no coordination, and a member joining or leaving moves only
 * the symbols it gains or had: each symbol goes to the member with the highest weight for it, and
 * removing one member changes the winner only where that member was the winner.
 */

/** A well-mixed 32-bit weight of (member, symbol): FNV-1a over both, then murmur3's finaliser. */
export function weight(member: string, symbol: string): number {
  let h = 0x811c9dc5;
  const text = `${member}\u0000${symbol}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member that fetches `symbol`; `undefined` when there is none. Ties (rare) go to the smaller id. */
export function ownerOf(symbol: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const w = weight(member, symbol);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}

/** Of `symbols`, those `member` fetches when `members` are alive (in the order given). */
export function ownedBy(member: string, symbols: readonly string[], members: readonly string[]): string[] {
  return symbols.filter((symbol) => ownerOf(symbol, members) === member);
}

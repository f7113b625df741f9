/**
 * Splitting keyed work (ONVIF cameras) among the live gateways of a region (decision 0009) by
 * rendezvous hashing (Thaler & Ravishankar, "highest random weight"): each key goes to the member
 * with the highest hash of (member, key). Every gateway computes the same owner from the same
 * member list with no coordination, and when a member joins or leaves only the keys it gains or
 * held move (about 1/N of them), not the whole fleet.
 */

/** 32-bit FNV-1a of `s`, then a murmur3 finalizer so that similar strings spread over the range. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The member that owns `key`; undefined when there are no members. Ties (never in practice) go to the lower id. */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const m of members) {
    const w = hash32(`${m}\u0000${key}`);
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** The keys `me` owns among `members`. */
export function shareOf<K extends string>(keys: readonly K[], members: readonly string[], me: string): K[] {
  return keys.filter((k) => ownerOf(k, members) === me);
}

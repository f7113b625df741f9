/**
 * The evidence ids a target verdict rests on (contract §7), taken apart for the wall screen:
 * `checkin:{device}:{time}`, `gate:{device}:{time}`, `uplink:{device}:{time}`, `inspection:{id}`,
 * `media:{sha256}`, `device:{id}`. Pure: no DOM.
 */

export type Evidence =
  | { kind: 'checkin' | 'gate' | 'uplink'; device: string; at: string; raw: string }
  | { kind: 'inspection'; id: string; raw: string }
  | { kind: 'media'; sha: string; raw: string }
  | { kind: 'device'; id: string; raw: string }
  | { kind: 'other'; raw: string };

const SHA256 = /^[0-9a-f]{64}$/i;

export function parseEvidence(raw: string): Evidence {
  const i = raw.indexOf(':');
  if (i <= 0) return { kind: 'other', raw };
  const kind = raw.slice(0, i);
  const rest = raw.slice(i + 1);
  if (kind === 'checkin' || kind === 'gate' || kind === 'uplink') {
    // The time is ISO-8601 and has colons of its own: the device is up to the next colon only.
    const j = rest.indexOf(':');
    if (j <= 0) return { kind: 'other', raw };
    return { kind, device: rest.slice(0, j), at: rest.slice(j + 1), raw };
  }
  if (kind === 'inspection' && rest) return { kind, id: rest, raw };
  if (kind === 'device' && rest) return { kind, id: rest, raw };
  // Only a real content hash is ever fetched (it goes into a URL).
  if (kind === 'media' && SHA256.test(rest)) return { kind, sha: rest.toLowerCase(), raw };
  return { kind: 'other', raw };
}

/** Photos first (they are shown as images), then the rest in the order given; duplicates dropped. */
export function sortEvidence(ids: readonly string[]): { photos: string[]; items: Evidence[] } {
  const seen = new Set<string>();
  const photos: string[] = [];
  const items: Evidence[] = [];
  for (const raw of ids) {
    if (typeof raw !== 'string' || seen.has(raw)) continue;
    seen.add(raw);
    const e = parseEvidence(raw);
    if (e.kind === 'media') photos.push(e.sha);
    else items.push(e);
  }
  return { photos, items };
}

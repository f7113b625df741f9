/**
 * The wall screen as a kiosk (contract-additions "Kiosks"): the setup link's one-time code (in the
 * URL fragment, never sent to a server) and the device secret this browser keeps in localStorage.
 * A revoked kiosk is remembered as revoked (its secret dropped), so a reload shows the revoked
 * screen again rather than a login form.
 */

export interface KioskCredential {
  id: string;
  name: string;
  school?: string;
  /** The device secret; absent once revoked. */
  secret?: string;
  revoked?: boolean;
}

const KEY = 'wall.kiosk';
const SETUP_RE = /^#kiosk-setup=([A-Za-z0-9_-]{1,200})$/;

export function loadKiosk(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): KioskCredential | null {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return null;
    const k = JSON.parse(raw) as KioskCredential;
    return typeof k?.id === 'string' && (typeof k.secret === 'string' || k.revoked === true) ? k : null;
  } catch {
    return null;
  }
}

export function saveKiosk(k: KioskCredential | null, storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined = globalThis.localStorage): void {
  try {
    if (k) storage?.setItem(KEY, JSON.stringify(k));
    else storage?.removeItem(KEY);
  } catch {
    /* storage unavailable: the kiosk lasts for this page only */
  }
}

/**
 * The setup code of a `…/#kiosk-setup=CODE` link, removed from the address bar at once (so it is
 * neither bookmarked nor shown on the screen). Null when the page was not opened with one.
 */
export function takeSetupCode(loc: Pick<Location, 'hash' | 'pathname' | 'search'> | undefined = globalThis.location): string | null {
  const m = loc ? SETUP_RE.exec(loc.hash) : null;
  if (!m) return null;
  try {
    globalThis.history?.replaceState(null, '', `${loc!.pathname}${loc!.search}`);
  } catch {
    /* not in a browser */
  }
  return m[1];
}

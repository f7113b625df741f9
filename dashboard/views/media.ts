/**
 * Stored photos (GET /api/media/{sha256}) for <img>: an <img> cannot send the bearer token, so each
 * photo is fetched once with it and shown through an object URL, revoked on `clear()` or when it
 * has not been asked for among the last `kept` photos (a wall runs for weeks: every case thumbnail
 * it ever showed would otherwise stay in memory). An <img> already showing a revoked URL keeps its
 * picture; a figure drawn again fetches it again.
 */
import { t } from '../i18n.js';
import { fill, h } from './dom.js';

/** Photos kept at most, the most recently asked for (a screen shows a few dozen at a time). */
export const MEDIA_KEPT = 200;

export class MediaCache {
  /** In the order last asked for, oldest first. */
  private readonly urls = new Map<string, string | null>();
  private readonly loads = new Map<string, Promise<string | null>>();

  constructor(
    private readonly fetchBlob: (sha: string) => Promise<Blob>,
    private readonly kept = MEDIA_KEPT,
  ) {}

  url(sha: string): Promise<string | null> {
    const have = this.urls.get(sha);
    if (have !== undefined) {
      this.urls.delete(sha);
      this.urls.set(sha, have);
      return Promise.resolve(have);
    }
    let load = this.loads.get(sha);
    if (!load) {
      load = this.fetchBlob(sha).then(
        (blob) => URL.createObjectURL(blob),
        () => null,
      );
      load.then((u) => {
        this.urls.set(sha, u);
        this.loads.delete(sha);
        this.trim();
      });
      this.loads.set(sha, load);
    }
    return load;
  }

  /** A figure that shows the photo once it has arrived (or says it cannot be read). */
  figure(sha: string, opts: { testid: string; alt: string; cls: string; caption?: string }): HTMLElement {
    const fig = h('figure', { class: opts.cls, dataset: { sha } });
    const draw = (u: string | null | undefined) => {
      if (u === undefined) fill(fig, h('div', { class: 'photo-wait' }, t('canteen.loading')));
      else if (u === null) fill(fig, h('div', { class: 'photo-wait error' }, t('drill.photoError')));
      else fill(fig, h('img', { testid: opts.testid, attrs: { src: u, alt: opts.alt, decoding: 'async' } }), opts.caption ? h('figcaption', null, opts.caption) : null);
    };
    draw(this.urls.get(sha));
    if (!this.urls.has(sha)) void this.url(sha).then(draw);
    return fig;
  }

  /** Forgets (and revokes) the photos asked for longest ago, beyond `kept`. */
  private trim(): void {
    for (const [sha, u] of this.urls) {
      if (this.urls.size <= this.kept) break;
      if (u) URL.revokeObjectURL(u);
      this.urls.delete(sha);
    }
  }

  clear(): void {
    for (const u of this.urls.values()) if (u) URL.revokeObjectURL(u);
    this.urls.clear();
    this.loads.clear();
  }
}

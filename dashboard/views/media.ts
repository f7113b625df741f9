/**
 * Stored photos (GET /api/media/{sha256}) for <img>: an <img> cannot send the bearer token, so each
 * photo is fetched once with it and shown through an object URL, revoked on `clear()`.
 */
import { t } from '../i18n.js';
import { fill, h } from './dom.js';

export class MediaCache {
  private readonly urls = new Map<string, string | null>();
  private readonly loads = new Map<string, Promise<string | null>>();

  constructor(private readonly fetchBlob: (sha: string) => Promise<Blob>) {}

  url(sha: string): Promise<string | null> {
    const have = this.urls.get(sha);
    if (have !== undefined) return Promise.resolve(have);
    let load = this.loads.get(sha);
    if (!load) {
      load = this.fetchBlob(sha).then(
        (blob) => URL.createObjectURL(blob),
        () => null,
      );
      load.then((u) => {
        this.urls.set(sha, u);
        this.loads.delete(sha);
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

  clear(): void {
    for (const u of this.urls.values()) if (u) URL.revokeObjectURL(u);
    this.urls.clear();
    this.loads.clear();
  }
}

/**
 * The alarm's linked pictures (报警联动): one thumbnail per camera, with the camera's name and the
 * picture's time, in the pop-up (wall and console) and the console's alarm detail. A picture still
 * being fetched says so and is replaced when its `alarm` frame brings it; a failed one says why.
 * Pictures come from the gateway only (GET /api/media/{sha256}, with the token: MediaCache).
 */
import type { AlarmSnapshot } from '../../gateway/contract/api.js';
import { formatTime, lang, t } from '../i18n.js';
import '../alarm-snapshots.css';
import { h } from './dom.js';
import type { MediaCache } from './media.js';

/** What decides whether the strip must be drawn again (a frame changes a picture's state). */
export const snapshotsKey = (snaps: AlarmSnapshot[] | undefined): string => (snaps ?? []).map((s) => `${s.camera}:${s.state}:${s.sha256 ?? ''}`).join(',');

export function snapshotStrip(snaps: AlarmSnapshot[] | undefined, media: MediaCache, size: 'popup' | 'detail'): HTMLElement | null {
  if (!snaps?.length) return null;
  return h(
    'div',
    { class: `alarm-snaps snaps-${size}`, testid: `${size}-snapshots` },
    h('div', { class: 'alarm-snaps-title' }, t('snap.title')),
    h(
      'div',
      { class: 'alarm-snaps-row' },
      ...snaps.map((s) => {
        const name = lang() === 'en' && s.cameraNameEn ? s.cameraNameEn : s.cameraName;
        const when = s.at ? formatTime(s.at) : '';
        const caption = h('div', { class: 'alarm-snap-caption' }, h('span', { class: 'alarm-snap-camera', testid: 'snap-camera' }, name), when && h('span', { class: 'alarm-snap-time', testid: 'snap-time' }, when));
        let body: HTMLElement;
        if (s.state === 'fetched' && s.sha256) body = media.figure(s.sha256, { testid: `${size}-snapshot-img`, alt: name, cls: 'alarm-snap-fig' });
        else if (s.state === 'pending') body = h('div', { class: 'alarm-snap-wait' }, t('snap.pending'));
        else body = h('div', { class: 'alarm-snap-wait failed', title: s.error ?? '' }, t('snap.failed'), s.error && h('div', { class: 'alarm-snap-error' }, s.error));
        return h('div', { class: `alarm-snap state-${s.state}`, testid: 'alarm-snap', dataset: { camera: s.camera, state: s.state } }, body, caption);
      }),
    ),
  );
}

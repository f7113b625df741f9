// The wall's photo cache (dashboard/views/media.ts): a wall runs for weeks, so the object URLs of
// the photos it showed are kept for the most recently asked-for ones only, the others revoked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveObjectURL } from 'node:buffer';
import { MediaCache } from '../../dashboard/views/media.js';

describe('MediaCache', () => {
  it('keeps the last `kept` photos asked for, revokes the others, and fetches a forgotten one again', async () => {
    const fetched: string[] = [];
    const cache = new MediaCache(async (sha) => {
      fetched.push(sha);
      return new Blob([sha], { type: 'image/jpeg' });
    }, 3);
    const urls = new Map<string, string>();
    for (const sha of ['a', 'b', 'c']) urls.set(sha, (await cache.url(sha))!);
    assert.equal(await cache.url('a'), urls.get('a'), 'asked again: the same URL, not a second fetch');
    for (const sha of ['d', 'e']) urls.set(sha, (await cache.url(sha))!);
    await new Promise((r) => setImmediate(r)); // the cache files a load once its promise has settled
    // 'a' was asked for after 'b' and 'c': those two are the oldest and go.
    const alive = (sha: string) => resolveObjectURL(urls.get(sha)!) !== undefined;
    assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map(alive), [true, false, false, true, true]);
    const again = await cache.url('b');
    assert.notEqual(again, urls.get('b'), 'a forgotten photo gets a new URL');
    assert.deepEqual(fetched, ['a', 'b', 'c', 'd', 'e', 'b']);
    cache.clear();
    assert.equal(resolveObjectURL(again!), undefined, 'clear() revokes what is left');
  });
});

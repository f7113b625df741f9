import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameLimit } from '../../gateway/ingest/frame-limit.js';

/** A PUBLISH-like packet: type byte, remaining length (variable byte integer), body. */
function packet(bodyBytes: number): Buffer {
  const len: number[] = [];
  let x = bodyBytes;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    len.push(b);
  } while (x > 0);
  return Buffer.concat([Buffer.from([0x32, ...len]), Buffer.alloc(bodyBytes, 0x61)]);
}

test('packets up to the limit pass, in any chunking; the first over it is named by its size from its header alone', () => {
  const limit = 64 * 1024;
  const ok = [packet(0), packet(10), packet(127), packet(128), packet(16_383), packet(16_384), packet(limit - 4)];
  const stream = Buffer.concat(ok);
  for (const size of [1, 2, 3, 7, 100, 4096, stream.length]) {
    const f = new FrameLimit(limit);
    for (let i = 0; i < stream.length; i += size) assert.equal(f.feed(stream.subarray(i, i + size)), null, `chunks of ${size}`);
  }
  const big = packet(200 * 1024 * 1024 - 10).subarray(0, 16); // only its header has arrived
  const f = new FrameLimit(limit);
  assert.equal(f.feed(Buffer.concat([packet(5), big])), 1 + 4 + 200 * 1024 * 1024 - 10);
  assert.equal(new FrameLimit(limit).feed(packet(limit - 2).subarray(0, 4)), limit + 2, 'one byte over');
  assert.equal(new FrameLimit(limit).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])), Number.POSITIVE_INFINITY, 'a length of more than 4 bytes');
});

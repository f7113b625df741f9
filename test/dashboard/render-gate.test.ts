import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RenderGate } from '../../dashboard/render-gate.js';

describe('RenderGate', () => {
  it('draws a part the first time, when an input is another object, or when forced; not otherwise', () => {
    const g = new RenderGate();
    const a = { x: 1 };
    assert.equal(g.changed('p', [a, 'zh']), true);
    assert.equal(g.changed('p', [a, 'zh']), false);
    assert.equal(g.changed('p', [{ x: 1 }, 'zh']), true, 'an equal but new slice is a change');
    assert.equal(g.changed('p', [a, 'en']), true);
    assert.equal(g.changed('p', [a, 'en'], true), true);
    assert.equal(g.changed('q', [a, 'en']), true, 'parts are apart');
    g.reset();
    assert.equal(g.changed('p', [a, 'en']), true);
  });
});

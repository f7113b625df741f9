// The build's px → rem transform of the wall screen's stylesheets (scripts/px-to-rem.ts, issue #12).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pxToRem } from '../../scripts/px-to-rem.js';

describe('pxToRem', () => {
  it('turns design pixels into rem (÷ 16) in declarations', () => {
    assert.equal(pxToRem('.a { padding: 8px 18px; font-size: 18px }'), '.a { padding: 0.5rem 1.125rem; font-size: 1.125rem }');
    assert.equal(pxToRem('.a{margin:-24px 0 .5px 2.5px}'), '.a{margin:-1.5rem 0 .5px 0.15625rem}');
    assert.equal(pxToRem('.a { width: calc(100% - 40px); box-shadow: 0 30px 80px rgba(0, 0, 0, 0.6) }'), '.a { width: calc(100% - 2.5rem); box-shadow: 0 1.875rem 5rem rgba(0, 0, 0, 0.6) }');
    assert.equal(pxToRem(':root { --radius: 10px; }'), ':root { --radius: 0.625rem; }', 'custom properties too');
    assert.equal(pxToRem('.a { width: 1px; border: 1px solid; top: -1px; left: 0px }'), '.a { width: 1px; border: 1px solid; top: -1px; left: 0px }', 'hairlines stay');
    assert.equal(pxToRem('.a { border-width: 2px }', { minPx: 2 }), '.a { border-width: 2px }');
    assert.equal(pxToRem('.a { font-size: 13px }', { precision: 3 }), '.a { font-size: 0.813rem }');
  });

  it('leaves PX/Px, media queries, selectors, comments, strings and url() as written', () => {
    assert.equal(pxToRem('.t { font-size: 2.1PX; stroke-width: 0.6Px }'), '.t { font-size: 2.1PX; stroke-width: 0.6Px }');
    const mq = '@media (max-width: 1600px) and (min-height: 700px) {\n  .a { gap: 32px; }\n}';
    assert.equal(pxToRem(mq), '@media (max-width: 1600px) and (min-height: 700px) {\n  .a { gap: 2rem; }\n}');
    assert.equal(pxToRem('/* 20px gap */ .w-20px:hover > .b { gap: 20px /* was 16px */ }'), '/* 20px gap */ .w-20px:hover > .b { gap: 1.25rem /* was 16px */ }');
    assert.equal(pxToRem(`.a::after { content: '12px; {x}'; background: url("data:image/svg+xml,<svg width='24px'>") }`), `.a::after { content: '12px; {x}'; background: url("data:image/svg+xml,<svg width='24px'>") }`);
    assert.equal(pxToRem('.a { background: url(img-10px.png) 4px 4px }'), '.a { background: url(img-10px.png) 0.25rem 0.25rem }');
    assert.equal(pxToRem('@keyframes k { 0% { transform: translateY(-4px) } 100% { transform: none } }'), '@keyframes k { 0% { transform: translateY(-0.25rem) } 100% { transform: none } }');
    assert.equal(pxToRem("@import '@fontsource/x/400.css';\n.a { top: 32px }"), "@import '@fontsource/x/400.css';\n.a { top: 2rem }");
    assert.equal(pxToRem('.a { grid-template-columns: 130px minmax(0, 1fr) }'), '.a { grid-template-columns: 8.125rem minmax(0, 1fr) }');
    assert.equal(pxToRem('.a { width: 2px'), '.a { width: 0.125rem', 'an unterminated last declaration');
  });

  it('leaves other units and numbers without a unit alone', () => {
    const css = '.a { width: 50%; height: 100vh; line-height: 1.35; letter-spacing: 0.04em; z-index: 50; transition: filter 0.1s; max-width: 96vw }';
    assert.equal(pxToRem(css), css);
  });
});

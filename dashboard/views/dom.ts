/** A tiny DOM builder. Text always goes in as text nodes (never innerHTML): names come from devices. */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  title?: string;
  hidden?: boolean;
  attrs?: Record<string, string | number | boolean | undefined>;
  dataset?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    if (props.class) el.className = props.class;
    if (props.testid) el.dataset.testid = props.testid;
    if (props.title) el.title = props.title;
    if (props.hidden) el.hidden = true;
    if (props.dataset) for (const [k, v] of Object.entries(props.dataset)) el.dataset[k] = v;
    if (props.attrs)
      for (const [k, v] of Object.entries(props.attrs)) {
        if (v === undefined || v === false) continue;
        el.setAttribute(k, v === true ? '' : String(v));
      }
    if (props.on)
      for (const [type, fn] of Object.entries(props.on)) el.addEventListener(type, fn as EventListener);
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * Makes `el`'s children exactly `nodes`, in order, touching only what differs: kept nodes stay in
 * place (no detach and re-insert, so the browser lays out only what is new or moved). Children not
 * in `nodes` are removed first, so one row leaving the middle costs one removal, not a move of
 * every row after it.
 */
export function reconcile(el: Element, nodes: readonly Element[]): void {
  const keep = new Set<Element>(nodes);
  for (const c of [...el.children]) if (!keep.has(c)) c.remove();
  nodes.forEach((n, i) => {
    const at = el.children[i];
    if (at !== n) el.insertBefore(n, at ?? null);
  });
}

export function setText(el: Element | null, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

/** "00:42", "12:05", "1:02:33": elapsed time in clock form, readable from across the room. */
export function clockElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** A warning triangle drawn in CSS (no emoji font on a wall PC). */
export function warnIcon(size: 'small' | 'big' = 'small'): HTMLElement {
  return h('span', { class: `icon-warn ${size}`, attrs: { 'aria-hidden': 'true' } });
}

/**
 * A dialog's dimmed overlay, hidden until opened: Escape goes to `onEscape` (which decides whether
 * the page's own keys hear it too), and a click on the dimmed wall around the dialog closes it.
 */
export function overlay(extraClass: string, testid: string, onEscape: (ev: KeyboardEvent) => void, close: () => void): HTMLDivElement {
  const el = h('div', { class: `overlay drill-overlay${extraClass ? ` ${extraClass}` : ''}`, testid, hidden: true });
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') onEscape(ev);
  });
  el.addEventListener('click', (ev) => {
    if (ev.target === el) close();
  });
  return el;
}

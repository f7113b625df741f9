/**
 * A school's canteen records (台账) in a dialog, for a user bound to the school: today's completeness
 * per meal (留样, 陪餐, 消毒, from the summary), the records entered here, and a form for a new one:
 * 留样 sample (dish, meal, grams, taken at, kept until, person), 晨检 morning check (person, result,
 * symptom), 陪餐 accompany (leader, meal), 消毒 disinfection (what, method, meal). The meals are the
 * summary's for the school. A refusal (negative_weight, kept_before_taken, unknown_meal…) is said in words.
 */
import type { CanteenRecordView } from '../api.js';
import { formatTime, t, tk } from '../i18n.js';
import type { CanteenSchoolSummary } from '../state/canteen.js';
import { fill, h, overlay } from './dom.js';

export type RecordKind = 'sample' | 'morning_check' | 'accompany' | 'disinfection';
const KINDS: readonly RecordKind[] = ['sample', 'morning_check', 'accompany', 'disinfection'];

export interface RecordsContext {
  school: () => string | undefined;
  /** The school's summary of today (meals, completeness); undefined before it is read. */
  summary: () => CanteenSchoolSummary | undefined;
  /** Resolves with the gateway's answer; rejects with a message to show. */
  submit: (record: Record<string, unknown>) => Promise<{ id: string; kind: string; day: string }>;
  /** GET /api/canteen/records: today's records of the school. */
  list: () => Promise<{ records: CanteenRecordView[] }>;
}

type Listed = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ok'; records: CanteenRecordView[] };

/** One line of a record: what, how much, which meal, who. */
function recordLine(r: CanteenRecordView): string {
  const s = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '');
  const time = s('takenAt') || s('at');
  const what = s('dish') || s('what') || s('leader') || s('person');
  const parts = [time ? formatTime(time) : '', tk('rec.kind', r.kind), what];
  if (typeof r.grams === 'number') parts.push(`${r.grams} g`);
  if (s('method')) parts.push(s('method'));
  if (s('result')) parts.push(t(s('result') === 'abnormal' ? 'rec.result.abnormal' : 'rec.result.normal'));
  if (s('meal')) parts.push(tk('meal', s('meal')));
  parts.push(r.by);
  return parts.filter(Boolean).join(' · ');
}

/** `datetime-local` value of a time, local clock, to the second (a record's time is its evidence). */
function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export class RecordsDialog {
  readonly el: HTMLElement;
  private kind: RecordKind = 'sample';
  private opener: HTMLElement | null = null;
  private listed: Listed = { state: 'loading' };
  /** The summary the completeness was drawn from. */
  private shown: CanteenSchoolSummary | undefined;
  private listGen = 0;
  private busy = false;

  constructor(private readonly ctx: RecordsContext) {
    this.el = overlay('', 'records-overlay', (e) => {
      e.stopPropagation();
      this.close();
    }, () => this.close());
  }

  get isOpen(): boolean {
    return !this.el.hidden;
  }

  open(from?: HTMLElement): void {
    if (from) this.opener = from;
    this.el.hidden = false;
    this.draw();
    this.el.querySelector<HTMLElement>('[data-testid="rec-kind"]')?.focus();
    void this.loadList();
  }

  private async loadList(): Promise<void> {
    const gen = ++this.listGen;
    try {
      const { records } = await this.ctx.list();
      if (gen !== this.listGen) return;
      this.listed = { state: 'ok', records };
    } catch (err) {
      if (gen !== this.listGen || this.listed.state === 'ok') return;
      this.listed = { state: 'error', message: err instanceof Error ? err.message : String(err) };
    }
    const box = this.el.querySelector('[data-testid="rec-list"]');
    if (box && !this.el.hidden) box.replaceWith(this.list());
  }

  private list(): HTMLElement {
    const l = this.listed;
    const body =
      l.state === 'loading'
        ? h('div', { class: 'drill-note small' }, t('canteen.loading'))
        : l.state === 'error'
          ? h('div', { class: 'drill-note error' }, l.message)
          : l.records.length
            ? h('ul', { testid: 'rec-saved' }, ...[...l.records].reverse().map((r) => h('li', { testid: 'rec-saved-item', dataset: { kind: r.kind, id: r.id } }, recordLine(r))))
            : h('div', { class: 'drill-note small' }, t('rec.none'));
    return h('section', { class: 'rec-saved', testid: 'rec-list' }, h('h3', { class: 'drill-section-title' }, t('rec.list')), body);
  }

  close(): void {
    if (this.el.hidden) return;
    this.el.hidden = true;
    fill(this.el);
    this.opener?.focus();
    this.opener = null;
  }

  /** The summary changed: the completeness redraws, what is typed stays. */
  refresh(): void {
    if (this.el.hidden || this.busy) return;
    const now = this.ctx.summary();
    if (now === this.shown) return;
    const box = this.el.querySelector('[data-testid="rec-meals"]');
    if (box) box.replaceWith(this.completeness());
  }

  relabel(): void {
    if (!this.el.hidden) this.draw();
  }

  private completeness(): HTMLElement {
    const s = this.ctx.summary();
    this.shown = s;
    const box = h('div', { class: 'rec-meals', testid: 'rec-meals' });
    if (!s) return fill(box, t('canteen.loading')), box;
    if (!s.meals.length) return fill(box, t('rec.noMeals')), box;
    fill(
      box,
      ...s.meals.map((m) =>
        h(
          'div',
          { class: 'rec-meal', testid: 'rec-meal', dataset: { meal: m.meal, samples: m.samples, accompany: m.accompany, disinfection: m.disinfection } },
          h('span', { class: 'rec-meal-name' }, tk('meal', m.meal)),
          ...(['samples', 'accompany', 'disinfection'] as const).map((k) =>
            h('span', { class: `comp comp-${m[k]}` }, `${tk('rec.kind', k === 'samples' ? 'sample' : k)} ${tk('comp', m[k])}`),
          ),
        ),
      ),
    );
    return box;
  }

  private draw(): void {
    const meals = this.ctx.summary()?.meals.map((m) => m.meal) ?? [];
    const now = Date.now();
    const field = (name: string, label: string, input: HTMLElement) => h('label', { class: 'rec-field' }, h('span', null, label), input);
    const text = (name: string, required = true) => h('input', { class: 'rec-input', testid: `rec-${name}`, attrs: { name, type: 'text', maxlength: 128, required } });
    const time = (name: string, ms: number) => {
      const i = h('input', { class: 'rec-input', testid: `rec-${name}`, attrs: { name, type: 'datetime-local', step: 1, required: true } });
      i.value = localInput(ms);
      return i;
    };
    const mealSelect = () => h('select', { class: 'rec-input', testid: 'rec-meal', attrs: { name: 'meal', required: true } }, ...(meals.length ? meals : ['breakfast', 'lunch', 'dinner']).map((m) => h('option', { attrs: { value: m } }, tk('meal', m))));
    const kindSelect = h(
      'select',
      { class: 'rec-input', testid: 'rec-kind', attrs: { name: 'kind' }, on: { change: () => ((this.kind = kindSelect.value as RecordKind), this.draw(), this.el.querySelector<HTMLElement>('[data-testid="rec-kind"]')?.focus()) } },
      ...KINDS.map((k) => h('option', { attrs: { value: k, selected: k === this.kind } }, tk('rec.kind', k))),
    );
    const fields: HTMLElement[] = [];
    if (this.kind === 'sample') {
      const grams = h('input', { class: 'rec-input', testid: 'rec-grams', attrs: { name: 'grams', type: 'number', step: 'any', required: true } });
      fields.push(field('dish', t('rec.dish'), text('dish')), field('meal', t('rec.meal'), mealSelect()), field('grams', t('rec.grams'), grams), field('takenAt', t('rec.takenAt'), time('takenAt', now)), field('keptUntil', t('rec.keptUntil'), time('keptUntil', now + 49 * 3_600_000)), field('person', t('rec.person'), text('person')));
    } else if (this.kind === 'morning_check') {
      const result = h('select', { class: 'rec-input', testid: 'rec-result', attrs: { name: 'result' } }, ...(['normal', 'abnormal'] as const).map((r) => h('option', { attrs: { value: r } }, t(`rec.result.${r}`))));
      fields.push(field('person', t('rec.person'), text('person')), field('result', t('rec.result'), result), field('symptom', t('rec.symptom'), text('symptom', false)), field('at', t('rec.at'), time('at', now)));
    } else if (this.kind === 'accompany') {
      fields.push(field('leader', t('rec.leader'), text('leader')), field('meal', t('rec.meal'), mealSelect()), field('at', t('rec.at'), time('at', now)));
    } else {
      fields.push(field('what', t('rec.what'), text('what')), field('method', t('rec.method'), text('method')), field('meal', t('rec.meal'), mealSelect()), field('at', t('rec.at'), time('at', now)));
    }
    const error = h('div', { class: 'note-error', testid: 'rec-error', attrs: { role: 'alert' } });
    const ok = h('div', { class: 'drill-note ok', testid: 'rec-ok', attrs: { role: 'status' } });
    const button = h('button', { class: 'btn btn-primary', testid: 'rec-submit', attrs: { type: 'submit' } }, t('rec.submit'));
    const form = h(
      'form',
      {
        class: 'rec-form',
        testid: 'rec-form',
        dataset: { kind: this.kind },
        attrs: { novalidate: true },
        on: {
          submit: (ev) => {
            ev.preventDefault();
            void this.send(form, error, ok, button);
          },
        },
      },
      field('kind', t('rec.kind'), kindSelect),
      ...fields,
      error,
      ok,
      h('div', { class: 'note-buttons' }, button),
    );
    fill(
      this.el,
      h(
        'div',
        { class: 'drill records-dialog', testid: 'records-dialog', attrs: { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'records-title' } },
        h(
          'div',
          { class: 'drill-head' },
          h('h2', { class: 'drill-title', attrs: { id: 'records-title' } }, t('rec.title'), h('span', { class: 'alt' }, t('rec.today', { date: formatTime(now, true).slice(0, 10) }))),
          h('button', { class: 'btn btn-ghost drill-close', testid: 'records-close', attrs: { type: 'button' }, on: { click: () => this.close() } }, t('drill.close')),
        ),
        h(
          'div',
          { class: 'drill-body records-body' },
          this.completeness(),
          form,
          this.list(),
        ),
      ),
    );
  }

  private async send(form: HTMLFormElement, error: HTMLElement, ok: HTMLElement, button: HTMLButtonElement): Promise<void> {
    if (this.busy) return;
    error.textContent = '';
    ok.textContent = '';
    const school = this.ctx.school();
    if (!school) return;
    const val = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value.trim() ?? '';
    const iso = (name: string) => {
      const v = val(name);
      const ms = Date.parse(v);
      return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
    };
    const kind = this.kind;
    const rec: Record<string, unknown> = { kind, school };
    const need: Record<RecordKind, string[]> = {
      sample: ['dish', 'meal', 'grams', 'takenAt', 'keptUntil', 'person'],
      morning_check: ['person', 'result', 'at'],
      accompany: ['leader', 'meal', 'at'],
      disinfection: ['what', 'method', 'meal', 'at'],
    };
    const labels: Record<string, string> = { dish: t('rec.dish'), meal: t('rec.meal'), grams: t('rec.grams'), takenAt: t('rec.takenAt'), keptUntil: t('rec.keptUntil'), person: t('rec.person'), result: t('rec.result'), at: t('rec.at'), leader: t('rec.leader'), what: t('rec.what'), method: t('rec.method') };
    const missing = need[kind].filter((k) => !val(k));
    if (missing.length) {
      error.textContent = t('rec.err.required', { fields: missing.map((k) => labels[k]).join('、') });
      return;
    }
    for (const k of need[kind]) {
      if (k === 'grams') rec.grams = Number(val(k));
      else if (k === 'takenAt' || k === 'keptUntil' || k === 'at') rec[k] = iso(k);
      else rec[k] = val(k);
    }
    if (kind === 'morning_check' && val('symptom')) rec.symptom = val('symptom');
    this.busy = true;
    button.disabled = true;
    try {
      const reply = await this.ctx.submit(rec);
      this.busy = false;
      void this.loadList();
      this.draw();
      const msg = this.el.querySelector<HTMLElement>('[data-testid="rec-ok"]');
      if (msg) msg.textContent = t('rec.saved', { kind: tk('rec.kind', kind), day: reply.day });
      this.el.querySelector<HTMLElement>('[data-testid="rec-kind"]')?.focus();
    } catch (err) {
      this.busy = false;
      button.disabled = false;
      error.textContent = err instanceof Error ? err.message : String(err);
      if (button.isConnected) button.focus();
    }
  }
}

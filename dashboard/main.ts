/**
 * The command-center wall screen (`/`) and the operator console (`/console`): boot, login, and the
 * wiring of REST + live feed + views. One bundle: the path picks the mode. The wall only presents
 * (a kiosk, or a person watching); the console is where people log in and act, with keyboard
 * shortcuts (shortcuts.ts). The model lives in state/ (pure, one slice per module); views draw it.
 */
import './fonts.css';
import './styles.css';

import type { Alarm, AlarmAction, FeedFrame } from '../gateway/contract/api.js';
import { Api, ApiError, canAct, type SchoolsReply } from './api.js';
import { SummaryPoller } from './canteen-summary.js';
import { ExportStatusPoller, healthPollMs, type ExportLag } from './export-status.js';
import { lang, loadLang, roleLabel, setLang, stateLabel, t, tk } from './i18n.js';
import { takeSetupCode } from './kiosk.js';
import { LiveConnection, backoffDelay, type LiveStatus } from './live.js';
import { Siren } from './sound.js';
import { commandFor, newestUnacknowledged, stepSelection, type ShortcutCommand } from './shortcuts.js';
import { applyLocalAlarm, downDevices, initialState, realAlarms, reduce, summary, testAlarms, withSchools, type WallState } from './state/index.js';
import { withCanteenSummary, withCase, type CanteenSummary, type CaseAction, type CaseDetail } from './state/canteen.js';
import { targetChangeOf, type TargetRate } from './state/targets.js';
import { UptimePoller, canSeeUptime, uptimePollMs, type UptimeResult } from './uptime.js';
import { AlarmListView, allowedActions } from './views/alarms.js';
import { AlarmDetailView } from './views/alarm-detail.js';
import { ConsoleNotice, ShortcutHelpView } from './views/console-help.js';
import { RenderGate } from './render-gate.js';
import { WallCharts } from './wall-charts.js';
import { CanteenSchoolsView, CanteenView } from './views/canteen.js';
import { CaseDialog } from './views/canteen-case.js';
import { RecordsDialog } from './views/canteen-records.js';
import { MediaCache } from './views/media.js';
import { h } from './views/dom.js';
import { nameContext } from './views/format.js';
import { HeaderView } from './views/header.js';
import { kioskView, type KioskScreen } from './views/kiosk.js';
import { loginView } from './views/login.js';
import { MaintenanceView, type UptimeView } from './views/maintenance.js';
import { NoteDialog, type NoteMode } from './views/note-dialog.js';
import { ConsoleTools } from './views/console-tools.js';
import { PopupView } from './views/popup.js';
import { SchoolsView } from './views/schools.js';
import { TargetDrillView, TargetsView } from './views/targets.js';
import { TickerView } from './views/ticker.js';

interface WallViews {
  header: HeaderView;
  alarms: AlarmListView;
  tests: AlarmListView;
  alarmsTitle: HTMLElement;
  alarmsCount: HTMLElement;
  testsTitle: HTMLElement;
  testsCount: HTMLElement;
  testsSection: HTMLElement;
  schools: SchoolsView;
  maintenance: MaintenanceView;
  targets: TargetsView;
  drill: TargetDrillView;
  ticker: TickerView;
  popup: PopupView;
  note: NoteDialog;
  canteen: CanteenView;
  canteenSchools: CanteenSchoolsView;
  caseDialog: CaseDialog;
  records: RecordsDialog;
  detail: AlarmDetailView;
  help: ShortcutHelpView;
  notice: ConsoleNotice;
  /** Issue #12: the statistics band and the flood view (wall-charts.ts). */
  charts: WallCharts;
}

export type ScreenMode = 'wall' | 'console';
/** `/console` is the operator console; every other path the wall. */
export const modeOf = (pathname: string): ScreenMode => (/^\/console\/?$/.test(pathname) ? 'console' : 'wall');

const ACTION_KEY = { ack: 'action.ack', dispatch: 'action.dispatch', resolve: 'action.resolve' } as const;

class App {
  private readonly api = new Api();
  private readonly siren = new Siren();
  private state: WallState = initialState();
  private county: SchoolsReply['county'];
  /** Device id → name (from GET /api/devices), for the activity ticker. */
  private deviceNames = new Map<string, string>();
  /** Device id → English name, where the registry has one (maintenance alarms carry only the Chinese name). */
  private deviceNamesEn = new Map<string, string>();
  private live: LiveConnection | null = null;
  private liveStatus: LiveStatus = { state: 'connecting', attempt: 1 };
  private views: WallViews | null = null;
  /** The console's recent alarms and (admins) kiosk admin; null on the wall. */
  private tools: ConsoleTools | null = null;
  /** Real alarms whose pop-up the operator dismissed ("later"): no pop-up, no sound, unless escalated. */
  private readonly dismissed = new Set<string>();
  private renderQueued = false;
  /** Which parts of the wall changed since they were drawn (issue #12). */
  private readonly gate = new RenderGate();
  /** realAlarms/testAlarms of the last alarms slice (new arrays only when it changes). */
  private split: { alarms: WallState['alarms'] | null; real: Alarm[]; tests: Alarm[] } = { alarms: null, real: [], tests: [] };
  private clock: ReturnType<typeof setInterval> | null = null;
  /** GET /health, for the quiet "history export behind" chip in the header. */
  private exportPoller: ExportStatusPoller | null = null;
  private exportLag: ExportLag | null = null;
  /** GET /api/cameras/uptime, for the maintenance panel (maintenance, operator, admin). */
  private uptimePoller: UptimePoller | null = null;
  private uptime: UptimeView = { state: 'off' };
  /** The rates the open drill-down was last drawn with. */
  private drillRates: TargetRate[] | null = null;
  /** GET /api/canteen/summary, for the canteen panel (refreshed on case, AI and camera frames). */
  private canteenPoller: SummaryPoller<CanteenSummary> | null = null;
  private canteenSummaryState: 'loading' | 'ok' | 'error' = 'loading';
  /** Case snapshots and rectification photos, as object URLs. */
  private readonly media = new MediaCache((sha) => this.api.media(sha));
  /** The kiosk screen shown (setting up, connecting, refused, revoked), for a language switch. */
  private kioskScreen: KioskScreen | null = null;
  private kioskTimer: ReturnType<typeof setTimeout> | null = null;
  /** Which screen this page is (its path); a kiosk is always the wall. */
  private readonly mode: ScreenMode = modeOf(globalThis.location?.pathname ?? '/');
  /** The console's selected alarm (J/K, a click), the one D, R, N and Enter act on. */
  private selected: string | null = null;

  /** The operator console: people act here. A kiosk never does, whatever page it was opened on. */
  private get isConsole(): boolean {
    return this.mode === 'console' && !this.api.isKiosk;
  }

  constructor(private readonly root: HTMLElement) {
    this.api.onUnauthorized(() => this.toLogin(t('login.expired')));
    this.api.onKioskRevoked(() => this.toRevoked());
    this.siren.onChange(() => this.queueRender());
    // Any click or key on the wall counts as the gesture the browser wants before it plays audio.
    const unlock = () => {
      if (this.siren.blocked) this.siren.unlock();
    };
    document.addEventListener('pointerdown', unlock, true);
    document.addEventListener('keydown', unlock, true);
    document.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  private setTitle(): void {
    document.title = this.mode === 'console' ? `${t('mode.console')} · ${t('app.title')}` : `${t('app.title')} · ${t('app.subtitle')}`;
  }

  boot(): void {
    setLang(loadLang());
    this.setTitle();
    const setupCode = takeSetupCode();
    if (setupCode) return void this.kioskSetup(setupCode);
    if (this.api.kiosk?.revoked) return this.toRevoked();
    if (this.api.isKiosk) return this.kioskStart();
    if (this.api.session) this.toWall();
    else this.toLogin();
  }

  // ---------- kiosk (a wall screen set up with a setup link: never a login form) ----------

  private showKiosk(screen: KioskScreen): void {
    this.stopWall();
    this.kioskScreen = screen;
    this.root.replaceChildren(kioskView(screen, () => this.switchLang()));
  }

  /** Spends the setup link's code; a gateway out of reach is retried, a refusal is shown. */
  private async kioskSetup(code: string, attempt = 0): Promise<void> {
    this.showKiosk({ state: 'setup' });
    try {
      await this.api.setupKiosk(code);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 0 || err.status >= 500)) {
        const delay = backoffDelay(attempt + 1);
        this.showKiosk({ state: 'connecting', name: t('kiosk.setup'), retryInS: Math.round(delay / 1000) });
        this.kioskTimer = setTimeout(() => void this.kioskSetup(code, attempt + 1), delay);
        return;
      }
      // Opened the link again on a screen already set up: carry on as that kiosk.
      if (this.api.isKiosk) return this.kioskStart();
      const known = err instanceof ApiError && ['setup_used', 'setup_expired', 'bad_setup_code', 'kiosk_revoked'].includes(err.code);
      const message = known ? t(`kiosk.error.${(err as ApiError).code}` as Parameters<typeof t>[0]) : err instanceof Error ? err.message : String(err);
      return this.showKiosk({ state: 'setup_failed', message, toLogin: () => this.toLogin() });
    }
    this.kioskStart();
  }

  /** A kiosk with its secret: a session from it (retried while the gateway is away), then the wall. */
  private kioskStart(attempt = 0): void {
    if (this.kioskTimer) clearTimeout(this.kioskTimer);
    this.kioskTimer = null;
    if (this.api.session) {
      this.api.keepKioskSession();
      return this.toWall();
    }
    const name = this.api.kiosk?.name ?? '';
    if (attempt === 0) this.showKiosk({ state: 'connecting', name });
    this.api.renewKiosk().then(
      () => this.kioskStart(),
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return; // revoked: the listener shows it
        const delay = backoffDelay(attempt + 1);
        this.showKiosk({ state: 'connecting', name, retryInS: Math.round(delay / 1000) });
        this.kioskTimer = setTimeout(() => this.kioskStart(attempt + 1), delay);
      },
    );
  }

  private toRevoked(): void {
    if (this.kioskTimer) clearTimeout(this.kioskTimer);
    this.kioskTimer = null;
    this.showKiosk({ state: 'revoked', name: this.api.kiosk?.name });
  }

  // ---------- login ----------

  private toLogin(message?: string, prefill = ''): void {
    this.stopWall();
    this.kioskScreen = null;
    this.root.replaceChildren(
      loginView(
        {
          message,
          toggleLang: () => {
            const user = this.root.querySelector<HTMLInputElement>('[data-testid="login-user"]')?.value ?? '';
            this.switchLang();
            this.toLogin(undefined, user);
          },
          submit: async (user, password) => {
            this.siren.unlock(); // the sign-in click is our user gesture for audio
            try {
              await this.api.login(user, password);
            } catch (err) {
              if (err instanceof ApiError && (err.status === 401 || err.status === 400)) throw new Error(t('login.failed'));
              throw new Error(t('login.error', { msg: err instanceof Error ? err.message : String(err) }));
            }
            this.toWall();
          },
        },
        prefill,
      ),
    );
    this.root.querySelector<HTMLInputElement>(prefill ? '[data-testid="login-password"]' : '[data-testid="login-user"]')?.focus();
  }

  // ---------- wall ----------

  private toWall(): void {
    this.stopWall();
    this.kioskScreen = null;
    const session = this.api.session;
    if (!session) return this.toLogin();
    const isConsole = this.isConsole;
    document.body.dataset.mode = isConsole ? 'console' : 'wall';
    const listCtx = {
      // The wall only presents: acting is the console's (issue #12).
      canAct: () => isConsole && canAct(this.api.session?.role),
      schools: () => this.state.schools,
      onAction: (alarm: Alarm, action: AlarmAction) => {
        this.selected = alarm.id;
        this.views?.note.show(alarm, action);
      },
      onDetail: isConsole ? (alarm: Alarm) => this.openDetail(alarm.id) : undefined,
    };
    const views: WallViews = {
      header: new HeaderView({
        logout: this.api.isKiosk
          ? undefined
          : () => {
              this.api.logout();
              this.toLogin();
            },
        toggleLang: () => this.switchLang(),
        enableSound: () => this.siren.unlock(),
        nav: this.api.isKiosk
          ? undefined
          : isConsole
            ? { href: '/', testid: 'to-wall', label: () => t('mode.toWall') }
            : { href: '/console', testid: 'to-console', label: () => t('mode.toConsole') },
      }),
      alarms: new AlarmListView(listCtx, false),
      tests: new AlarmListView(listCtx, true),
      alarmsTitle: h('h2', { class: 'pane-title' }),
      alarmsCount: h('span', { class: 'count-badge', testid: 'open-count' }),
      testsTitle: h('h3', { class: 'pane-subtitle' }),
      testsCount: h('span', { class: 'count-badge small' }),
      testsSection: h('section', { class: 'test-section', testid: 'test-alarms' }),
      // A school chosen on the county map: its six targets (the drill-down's school page).
      schools: new SchoolsView({ openSchool: (id, from) => this.views?.drill.openSchool(id, null, from) }),
      maintenance: new MaintenanceView({
        nameEn: (id) => this.deviceNamesEn.get(id),
        exportCsv: () => this.exportUptimeCsv(),
      }),
      targets: new TargetsView({ open: (id, from) => this.views?.drill.openTarget(id, from) }),
      drill: new TargetDrillView({
        targetSchools: (id, status) => this.api.targetSchools(id, status),
        schoolTargets: (id) => this.api.schoolTargets(id),
        media: (sha) => this.api.media(sha),
        schools: () => this.state.schools,
        rate: (id) => this.state.targets.rates.find((r) => r.id === id),
      }),
      ticker: new TickerView((id) => this.deviceNames.get(id) ?? id),
      popup: new PopupView({
        canAct: listCtx.canAct,
        schools: listCtx.schools,
        onAck: (alarm) => this.views?.note.show(alarm, 'ack'),
        onDismiss: (alarm) => {
          this.dismissed.add(alarm.id);
          this.queueRender();
        },
        media: this.media,
      }),
      note: new NoteDialog({ schools: listCtx.schools, submit: (alarm, action, note) => this.act(alarm, action, note) }),
      canteen: new CanteenView({
        media: this.media,
        schools: listCtx.schools,
        openCase: (id, from) => this.views?.caseDialog.open(id, from),
        openSchools: (from) => this.views?.canteenSchools.open(this.state.canteen, from),
        // Records are a school's own: a user bound to a school records for it (contract §8); a kiosk only watches.
        openRecords: session.school && isConsole ? (from) => this.views?.records.open(from) : null,
        summaryState: () => this.canteenSummaryState,
      }),
      canteenSchools: new CanteenSchoolsView(listCtx.schools),
      caseDialog: new CaseDialog({
        load: (id) => this.api.canteenCase(id),
        act: (id, action, body) => this.caseAct(id, action, body),
        media: this.media,
        schools: listCtx.schools,
        // On the wall a case is shown, not acted on: as a viewer sees it.
        who: () => ({ role: isConsole ? (this.api.session?.role ?? 'viewer') : 'viewer', school: this.api.session?.school }),
      }),
      records: new RecordsDialog({
        school: () => this.api.session?.school,
        summary: () => this.state.canteen.summary?.schools.find((x) => x.school === this.api.session?.school),
        submit: (record) => this.addRecord(record),
        list: () => this.api.canteenRecords(),
      }),
      detail: new AlarmDetailView({
        load: (id) => this.api.alarm(id),
        media: this.media,
        schools: listCtx.schools,
        canAct: listCtx.canAct,
        onAction: (alarm, action) => this.views?.note.show(alarm, action),
      }),
      help: new ShortcutHelpView(),
      notice: new ConsoleNotice(),
      charts: new WallCharts({
        stats: () => this.api.alarmStats(7),
        townshipEn: () => Object.fromEntries((this.county?.townships ?? []).filter((x) => x.nameEn).map((x) => [x.name, x.nameEn as string])),
        listCtx,
        queueRender: () => this.queueRender(),
      }),
    };
    this.views = views;
    const tools = (this.tools = isConsole ? new ConsoleTools({ api: this.api, role: () => this.api.session?.role, schools: listCtx.schools, openDetail: (a) => views.detail.open(a) }) : null);
    this.gate.reset();
    views.testsSection.append(h('div', { class: 'pane-head small' }, views.testsTitle, views.testsCount), views.tests.el);
    const alarmsPane = h(
      'section',
      { class: 'pane alarms-pane' },
      h('div', { class: 'pane-head' }, views.alarmsTitle, views.alarmsCount, tools?.bar),
      views.charts.flood.banner,
      views.alarms.el,
      views.charts.flood.el,
      views.testsSection,
    );
    this.root.replaceChildren(
      h(
        'div',
        { class: 'screen', testid: 'wall' },
        views.header.el,
        views.header.banner,
        // Left: the alarms, and under them one strip of the canteen center (明厨亮灶). Right column: the six
        // targets' rates on top, the county overview, the quiet maintenance panel below.
        h('main', { class: 'body' }, h('div', { class: 'main-col' }, alarmsPane, views.charts.stats.el, views.canteen.el), h('div', { class: 'side' }, views.targets.el, views.schools.el, views.maintenance.el)),
        views.ticker.el,
        isConsole && h('div', { class: 'console-hint', testid: 'console-hint' }, t('sc.hint')),
        views.notice.el,
      ),
      // Under the alarm pop-up: a new alarm comes over an open drill-down.
      views.drill.el,
      views.canteenSchools.el,
      views.records.el,
      views.caseDialog.el,
      ...(tools?.overlays ?? []),
      views.detail.el,
      views.popup.el,
      views.note.el,
      views.help.el,
    );
    if (isConsole) {
      // A click on a card (not on its buttons) selects it, as J/K do.
      const pick = (ev: MouseEvent) => {
        const card = (ev.target as HTMLElement | null)?.closest<HTMLElement>('[data-testid="alarm-card"]');
        if (card?.dataset.alarmId) {
          this.selected = card.dataset.alarmId;
          this.drawSelection();
        }
      };
      views.alarms.el.addEventListener('click', pick);
      views.tests.el.addEventListener('click', pick);
    }

    this.state = initialState();
    void this.loadSchools();
    void this.loadDeviceNames();
    this.live = new LiveConnection({
      url: () => this.api.liveUrl(),
      lastSeq: () => (this.state.ready ? this.state.seq : -1),
      onFrame: (frame) => this.onFrame(frame),
      onStatus: (status) => {
        this.liveStatus = status;
        this.queueRender();
      },
      checkAuth: () =>
        this.api.schools().then(
          () => true,
          (err: unknown) => !(err instanceof ApiError && err.status === 401),
        ),
    });
    this.live.start();
    this.exportLag = null;
    this.exportPoller = new ExportStatusPoller((lag) => {
      this.exportLag = lag;
      this.queueRender();
    }, healthPollMs(globalThis.location?.search ?? ''));
    this.exportPoller.start();
    this.uptime = { state: 'off' };
    if (canSeeUptime(session.role)) {
      this.uptime = { state: 'loading' };
      this.uptimePoller = new UptimePoller(
        () => this.loadUptime(),
        (r) => this.onUptime(r),
        uptimePollMs(globalThis.location?.search ?? ''),
      );
      this.uptimePoller.start();
    }
    this.canteenSummaryState = 'loading';
    this.canteenPoller = new SummaryPoller(
      () => this.api.canteenSummary(),
      (r) => {
        if (r.ok) {
          this.state = { ...this.state, canteen: withCanteenSummary(this.state.canteen, r.value) };
          this.canteenSummaryState = 'ok';
        } else if (this.canteenSummaryState !== 'ok') this.canteenSummaryState = 'error';
        this.queueRender();
      },
    );
    this.canteenPoller.start();
    views.charts.start();
    this.clock = setInterval(() => this.tick(), 1000);
    this.tick();
    this.render();
  }

  private stopWall(): void {
    this.live?.stop();
    this.live = null;
    this.exportPoller?.stop();
    this.exportPoller = null;
    this.exportLag = null;
    this.uptimePoller?.stop();
    this.uptimePoller = null;
    this.uptime = { state: 'off' };
    this.canteenPoller?.stop();
    this.canteenPoller = null;
    this.views?.caseDialog.close();
    this.views?.detail.close();
    this.views?.help.close();
    this.views?.notice.clear();
    this.selected = null;
    this.views?.charts.stop();
    this.media.clear();
    if (this.clock) clearInterval(this.clock);
    this.clock = null;
    this.views?.drill.close();
    this.drillRates = null;
    this.siren.set('off');
    delete document.body.dataset.siren;
    document.body.classList.remove('has-escalated');
    this.views = null;
    this.dismissed.clear();
  }

  private async loadSchools(): Promise<void> {
    try {
      const reply = await this.api.schools();
      this.county = reply.county;
      // The snapshot's schools win once it has arrived (it is newer); before that, show the REST list.
      if (!this.state.ready || !this.state.schoolOrder.length) this.state = withSchools(this.state, reply.schools);
      this.queueRender();
    } catch {
      /* 401 is handled by the Api; anything else: the snapshot brings the schools too */
    }
  }

  private async loadDeviceNames(): Promise<void> {
    try {
      const { devices } = await this.api.devices();
      this.deviceNames = new Map(devices.map((d) => [d.id, d.name]));
      this.deviceNamesEn = new Map(devices.filter((d) => d.nameEn).map((d) => [d.id, d.nameEn as string]));
      this.views?.maintenance.namesChanged();
      this.queueRender();
      this.views?.ticker.update(this.state.activity, this.state.schools, lang(), true);
    } catch {
      /* the ticker shows ids then */
    }
  }

  private async loadUptime(): Promise<UptimeResult> {
    try {
      return { kind: 'ok', report: await this.api.uptime('24h') };
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return { kind: 'forbidden' };
      return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  }

  private onUptime(r: UptimeResult): void {
    if (r.kind === 'ok') this.uptime = { state: 'ok', report: r.report };
    else if (r.kind === 'forbidden') this.uptime = { state: 'off' }; // a viewer: no uptime section
    else if (this.uptime.state !== 'ok') this.uptime = { state: 'error' }; // keep the last report we had
    this.queueRender();
  }

  /** The 7-day uptime report as CSV: fetched with the token (a link cannot carry it), saved via a Blob. */
  private async exportUptimeCsv(): Promise<void> {
    const { blob, filename } = await this.api.download('/api/cameras/uptime?window=7d&format=csv', 'camera-uptime-7d.csv');
    const url = URL.createObjectURL(blob);
    const a = h('a', { attrs: { href: url, download: filename }, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
  }

  private onFrame(frame: FeedFrame): void {
    const before = this.state;
    this.state = reduce(this.state, frame);
    // A school's verdict changed: an open drill-down showing that target or school refreshes.
    const change = frame.type === 'target' && this.state !== before ? targetChangeOf(frame) : null;
    if (change) this.views?.drill.onChange(change);
    // A camera went down or came back: the worst-cameras list may have changed (refresh soon, throttled).
    if (frame.type === 'maintenance' && (frame.data as { deviceKind?: string } | null)?.deviceKind === 'camera') this.uptimePoller?.poke();
    // The canteen summary counts cases, AI events and cameras online: read it again soon (throttled).
    if (frame.type === 'case' || frame.type === 'ai' || frame.type === 'device') this.canteenPoller?.poke();
    this.views?.charts.onFrame(frame);
    if (frame.type === 'case') this.views?.caseDialog.onFrame(String((frame.data as { id?: unknown } | null)?.id ?? ''));
    if (frame.type === 'alarm' && frame.data && typeof (frame.data as { id?: unknown }).id === 'string') {
      this.views?.detail.onAlarm(frame.data as unknown as Alarm);
      this.tools?.onAlarm(frame.data as unknown as Alarm);
    }
    if (this.state.resync) {
      this.state = { ...this.state, resync: false };
      this.live?.resync();
    }
    this.queueRender();
  }

  private async act(alarm: Alarm, action: NoteMode, note: string): Promise<void> {
    try {
      const updated = action === 'note' ? await this.api.note(alarm.id, note) : await this.api.act(alarm.id, action, note);
      this.state = applyLocalAlarm(this.state, updated);
      this.views?.detail.onAlarm(updated);
      this.queueRender();
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status === 409) {
          const st = typeof err.body.state === 'string' ? stateLabel(err.body.state as Alarm['state']) : '?';
          throw new Error(t('error.conflict', { state: st }));
        }
        if (err.status === 403) throw new Error(t('error.forbidden'));
      }
      throw new Error(t('error.generic', { msg: err instanceof Error ? err.message : String(err) }));
    }
  }

  /** A case action; the gateway's refusal in words (409 with the state, 403, 400 with the reason, 413). */
  private async caseAct(id: string, action: CaseAction, body: { note?: string; photo?: string; measure?: string }): Promise<CaseDetail> {
    try {
      const c = await this.api.caseAction(id, action, body);
      this.state = { ...this.state, canteen: withCase(this.state.canteen, c) };
      this.queueRender();
      return c;
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status === 409) throw new Error(t('case.error.conflict', { state: typeof err.body.state === 'string' ? tk('cstate', err.body.state) : '?' }));
        if (err.status === 403) throw new Error(t('case.error.forbidden', { msg: err.message }));
        if (err.status === 413) throw new Error(t('case.error.tooLarge'));
        if (err.code === 'photo_not_image' || err.code === 'photo_not_base64') throw new Error(`${t('case.photoNotImage')}（${err.message}）`);
        if (err.status === 400) {
          const missing = err.body.missing;
          if (missing === 'photo') throw new Error(t('case.needPhoto'));
          if (missing === 'measure') throw new Error(t('case.needMeasure'));
          if (missing === 'note') throw new Error(t('case.needNote'));
          throw new Error(t('case.error.bad', { msg: err.message }));
        }
      }
      throw new Error(t('error.generic', { msg: err instanceof Error ? err.message : String(err) }));
    }
  }

  /** A canteen record; a refusal in words (negative_weight, kept_before_taken, unknown_meal…). */
  private async addRecord(record: Record<string, unknown>): Promise<{ id: string; kind: string; day: string }> {
    try {
      const reply = await this.api.canteenRecord(record);
      this.canteenPoller?.poke();
      return reply;
    } catch (err) {
      if (err instanceof ApiError) {
        const words = tk('rec.err', err.code);
        if (words !== err.code) throw new Error(`${words}（${err.message}）`);
        if (err.status === 403) throw new Error(t('rec.err.forbidden'));
        throw new Error(t('rec.err.generic', { msg: err.message }));
      }
      throw new Error(t('error.generic', { msg: err instanceof Error ? err.message : String(err) }));
    }
  }

  private switchLang(): void {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    this.setTitle();
    if (this.views) {
      this.render(true);
      this.views.note.relabel();
      this.views.detail.relabel();
      const hint = this.root.querySelector('[data-testid="console-hint"]');
      if (hint) hint.textContent = t('sc.hint');
      this.views.caseDialog.relabel();
      this.views.records.relabel();
    } else if (this.kioskScreen) this.showKiosk(this.kioskScreen);
  }

  // ---------- drawing ----------

  /**
   * At most one render per frame, however many feed frames arrive (issue #12: a busy county sends
   * hundreds a second; a render per frame of the feed starved the screen of frames). The timer
   * stands in when no frame comes (a hidden tab), so the state never waits long to be drawn.
   */
  private queueRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    const run = (): void => {
      if (!this.renderQueued) return;
      this.renderQueued = false;
      cancelAnimationFrame(raf);
      clearTimeout(timer);
      this.render();
    };
    const raf = requestAnimationFrame(run);
    const timer = setTimeout(run, 250);
  }

  private countyLabel(): string {
    const c = this.county;
    if (c) return lang() === 'en' && c.nameEn ? c.nameEn : c.name;
    const list = this.state.schoolOrder.map((id) => this.state.schools[id]).filter(Boolean);
    const names = nameContext(list);
    return (lang() === 'en' ? names.prefixEn.trim() : names.prefixZh) || '';
  }

  private render(force = false): void {
    const v = this.views;
    const session = this.api.session;
    if (!v || !session) return;
    const s = this.state;
    const L = lang();
    const g = this.gate;
    if (this.split.alarms !== s.alarms) this.split = { alarms: s.alarms, real: realAlarms(s), tests: testAlarms(s) };
    const { real, tests } = this.split;

    // Each part is drawn only when what it shows changed (the slices are immutable: identity is change).
    v.header.update({ user: session.user, role: session.role, county: this.countyLabel(), live: this.liveStatus, soundBlocked: this.siren.blocked, exportLag: this.exportLag });
    // A flood (ISA-18.2) groups the same alarms by school in place of the list; nothing is dropped.
    const grouped = v.charts.render(s.flood, real, s.schools, force);
    const alarmsChanged = g.changed('alarms', [s.alarms, L], force);
    if (alarmsChanged) {
      v.alarmsTitle.textContent = t('alarms.heading');
      v.alarmsCount.textContent = String(real.length);
      v.alarmsCount.classList.toggle('hot', real.length > 0);
      v.alarms.update(real, t('alarms.none'));
      v.testsTitle.textContent = t('alarms.test.heading');
      v.testsCount.textContent = String(tests.length);
      v.tests.update(tests, t('alarms.test.none'));
      v.testsSection.classList.toggle('empty', tests.length === 0);
    }
    if (v.alarms.el.hidden !== grouped) v.alarms.el.hidden = grouped;
    if (g.changed('schools', [s.schools, s.schoolOrder, s.alarms, this.county, L], force)) v.schools.update(s.schools, s.schoolOrder, summary(s), this.county);
    if (g.changed('maintenance', [s.maintenance, s.devices, s.schools, s.schoolOrder, this.county, this.uptime, this.deviceNames, L], force))
      v.maintenance.update({ down: downDevices(s), schools: s.schools, schoolOrder: s.schoolOrder, county: this.county, uptime: this.uptime }, force);
    if (g.changed('ticker', [s.activity, s.schools, L], force)) v.ticker.update(s.activity, s.schools, L, force);
    if (g.changed('targets', [s.targets, L], force)) v.targets.update(s.targets, force);
    if (g.changed('canteen', [s.canteen, this.canteenSummaryState, L], force)) v.canteen.update(s.canteen, force);
    v.canteenSchools.update(s.canteen);
    v.records.refresh();
    if (v.drill.isOpen && (force || this.drillRates !== s.targets.rates)) v.drill.redraw();
    this.drillRates = s.targets.rates;

    // Pop-up: the unacknowledged real alarm waiting longest (escalated first), unless dismissed.
    for (const id of this.dismissed) if (!s.alarms[id] || s.alarms[id].state !== 'raised') this.dismissed.delete(id);
    const waiting = real
      .filter((a) => a.state === 'raised' && !this.dismissed.has(a.id))
      .sort((a, b) => Number(b.escalated) - Number(a.escalated) || Date.parse(a.raisedAt) - Date.parse(b.raisedAt));
    v.popup.show(waiting[0] ?? null, Math.max(0, waiting.length - 1), force);
    if (this.isConsole && alarmsChanged) this.drawSelection(false);

    // Sound: escalated ones sound until acknowledged (dismissed or not); new ones until ack or dismiss.
    const escalated = real.some((a) => a.state === 'raised' && a.escalated);
    const siren = escalated ? 'urgent' : waiting.length ? 'alarm' : 'off';
    this.siren.set(siren);
    // What the wall wants to sound (also when the browser blocks audio); written only when it changes.
    if (document.body.dataset.siren !== siren) document.body.dataset.siren = siren;
    document.body.classList.toggle('has-escalated', escalated);
  }

  // ---------- the console: selection and keyboard shortcuts ----------

  /** The alarms in the order the console lists them: the real ones, then the test presses. */
  private alarmOrder(): Alarm[] {
    return [...realAlarms(this.state), ...testAlarms(this.state)];
  }

  private selectedAlarm(): Alarm | null {
    return this.selected ? (this.state.alarms[this.selected] ?? null) : null;
  }

  /** Marks the selected card (a card redrawn by the list loses its class: this runs after every render). */
  private drawSelection(scroll = true): void {
    const v = this.views;
    if (!v) return;
    if (this.selected && !this.state.alarms[this.selected]) this.selected = null; // resolved: nothing selected
    for (const el of this.root.querySelectorAll<HTMLElement>('[data-testid="alarm-card"]')) {
      const on = el.dataset.alarmId === this.selected;
      el.classList.toggle('selected', on);
      if (on) el.setAttribute('aria-current', 'true');
      else el.removeAttribute('aria-current');
      if (on && scroll) el.scrollIntoView({ block: 'nearest' });
    }
    document.body.dataset.selectedAlarm = this.selected ?? '';
  }

  private openDetail(id: string): void {
    const a = this.state.alarms[id];
    if (!a || !this.views) return;
    this.selected = id;
    this.drawSelection();
    this.views.detail.open(a);
  }

  private onKey(ev: KeyboardEvent): void {
    const v = this.views;
    if (!v || !this.isConsole) return;
    const target = ev.target instanceof HTMLElement ? ev.target : null;
    // Any dialog but the pop-up (which waits for exactly these keys) and the help turns shortcuts off.
    const dialog = !!this.root.querySelector('.overlay:not([hidden]):not(.popup-overlay):not(.shortcut-help-overlay)');
    const cmd = commandFor(
      { key: ev.key, ctrlKey: ev.ctrlKey, altKey: ev.altKey, metaKey: ev.metaKey, targetTag: target?.tagName, targetEditable: target?.isContentEditable },
      { dialog, help: v.help.isOpen },
    );
    if (!cmd) return;
    ev.preventDefault();
    this.runCommand(cmd);
  }

  private runCommand(cmd: ShortcutCommand): void {
    const v = this.views;
    if (!v) return;
    const role = this.api.session?.role;
    const readOnly = (action: AlarmAction) => v.notice.show(t('sc.readOnly', { role: role ? roleLabel(role) : '?', action: t(ACTION_KEY[action]) }));
    switch (cmd) {
      case 'help':
        return v.help.toggle();
      case 'close':
        return v.help.close();
      case 'next':
      case 'prev':
        this.selected = stepSelection(
          this.alarmOrder().map((a) => a.id),
          this.selected,
          cmd === 'next' ? 1 : -1,
        );
        return this.drawSelection();
      case 'ack-newest': {
        if (!canAct(role)) return readOnly('ack');
        const a = newestUnacknowledged(realAlarms(this.state));
        if (!a) return v.notice.show(t('sc.noneWaiting'));
        this.selected = a.id;
        this.drawSelection();
        return v.note.show(a, 'ack');
      }
      case 'detail': {
        const a = this.selectedAlarm();
        if (!a) return v.notice.show(t('sc.noneSelected'));
        return this.openDetail(a.id);
      }
      case 'note': {
        // A note on its own: no change of state (POST /api/alarms/{id}/note).
        const a = this.selectedAlarm();
        if (!a) return v.notice.show(t('sc.noneSelected'));
        if (!canAct(role)) return v.notice.show(t('sc.readOnlyNote', { role: role ? roleLabel(role) : '?' }));
        return v.note.show(a, 'note');
      }
      case 'dispatch':
      case 'resolve': {
        const a = this.selectedAlarm();
        if (!a) return v.notice.show(t('sc.noneSelected'));
        const action = cmd;
        if (!canAct(role)) return readOnly(action);
        if (!allowedActions(a.state).includes(action))
          return v.notice.show(t('sc.notAllowed', { state: stateLabel(a.state), action: t(ACTION_KEY[action]) }));
        return v.note.show(a, action);
      }
    }
  }

  private tick(): void {
    const now = Date.now();
    this.views?.header.tick(new Date(now));
    this.views?.alarms.tick(now);
    this.views?.charts.tick(now);
    this.views?.popup.tick(now);
    this.views?.maintenance.tick(now);
    // A case passes its deadline by the wall's clock (the gateway's escalation frame follows).
    this.views?.canteen.update(this.state.canteen);
  }
}

const root = document.getElementById('app');
if (root) new App(root).boot();

/**
 * The statistics band and the flood view of the wall (issue #12), wired in one place so that
 * main.ts only creates it, places its elements and calls it: the stats are read from
 * GET /api/stats/alarms?days=7 at start, every minute (the day rolls over, alarms age out of the
 * 7 days) and soon after any `alarm` frame (throttled: a flood of frames makes one request per few
 * seconds, not one per frame).
 */
import type { Alarm, FeedFrame, SchoolStatus } from '../gateway/contract/api.js';
import { SummaryPoller } from './canteen-summary.js';
import { lang } from './i18n.js';
import { RenderGate } from './render-gate.js';
import type { FloodInfo } from './state/flood.js';
import type { AlarmStats } from './state/stats.js';
import type { AlarmListContext } from './views/alarms.js';
import { FloodView } from './views/flood.js';
import { StatsView, type StatsLoad } from './views/stats.js';

export const STATS_POLL_MS = 60_000;
/**
 * At most one stats request per this long after frames (the "debounce" of issue #12). Ten seconds:
 * the band's figures are minutes and days, and each new reply redraws three charts (tens of ms on
 * a wall PC), which at 3 s came four times a minute in a busy hour.
 */
export const STATS_MIN_GAP_MS = 10_000;

export interface WallChartsDeps {
  stats: () => Promise<AlarmStats>;
  townshipEn: () => Record<string, string>;
  listCtx: AlarmListContext;
  queueRender: () => void;
}

export class WallCharts {
  readonly stats: StatsView;
  readonly flood: FloodView;
  private load: StatsLoad = { state: 'loading' };
  private poller: SummaryPoller<AlarmStats> | null = null;
  /** Bumped when a flood group is opened or closed: the flood view is drawn again though no input changed. */
  private floodToggles = 0;
  private readonly gate = new RenderGate();
  private grouped = false;

  constructor(private readonly deps: WallChartsDeps) {
    this.stats = new StatsView(deps.townshipEn);
    this.flood = new FloodView(deps.listCtx, () => {
      this.floodToggles++;
      deps.queueRender();
    });
  }

  start(): void {
    this.poller = new SummaryPoller(
      this.deps.stats,
      (r) => {
        if (r.ok) this.load = { state: 'ok', stats: r.value };
        else if (this.load.state === 'ok') this.stats.stale();
        else this.load = { state: 'error' };
        this.deps.queueRender();
      },
      STATS_POLL_MS,
      STATS_MIN_GAP_MS,
    );
    this.poller.start();
  }

  stop(): void {
    this.poller?.stop();
    this.poller = null;
    this.stats.dispose();
    document.body.classList.remove('flood-on');
  }

  onFrame(frame: FeedFrame): void {
    // Every alarm change moves a figure (a raise, an ack, an escalation, a resolve's outcome).
    if (frame.type === 'alarm') this.poller?.poke();
  }

  /** Draws both; answers whether the flood's grouped list replaces the normal list. */
  render(flood: FloodInfo, real: Alarm[], schools: Record<string, SchoolStatus>, force: boolean): boolean {
    this.stats.update(this.load, force);
    // Drawn only when its inputs changed (issue #12): `real` is a new array only when the alarms changed.
    if (this.gate.changed('flood', [flood, real, schools, lang(), this.floodToggles], force)) this.grouped = this.flood.update(flood, real, schools);
    return this.grouped;
  }

  tick(now: number): void {
    this.flood.tick(now);
  }
}

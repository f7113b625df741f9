/**
 * The alarm sound: a two-tone (hi-lo) siren synthesised with WebAudio, no audio file.
 * Browsers only let audio start after a user gesture: `unlock()` must be called from one (the
 * login click, or the "click to enable sound" button); until then `blocked` is true.
 */

export type SirenMode = 'off' | 'alarm' | 'urgent';

const TONES = { alarm: { hi: 960, lo: 770, step: 0.45 }, urgent: { hi: 1100, lo: 700, step: 0.22 } } as const;
const LOOKAHEAD_S = 1.5;
const VOLUME = 0.22;

type Ctor = typeof AudioContext;

export class Siren {
  private ctx: AudioContext | null = null;
  private osc: OscillatorNode | null = null;
  private gain: GainNode | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private scheduledUntil = 0;
  private high = true;
  private mode: SirenMode = 'off';
  private listeners = new Set<() => void>();

  /** Audio is wanted but the browser has not allowed it yet (no user gesture so far). */
  get blocked(): boolean {
    return !this.ctx || this.ctx.state !== 'running';
  }

  get playing(): SirenMode {
    return this.mode;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Call from a user gesture handler: creates/resumes the AudioContext. */
  unlock(): void {
    const AC: Ctor | undefined =
      globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: Ctor }).webkitAudioContext;
    if (!AC) return;
    if (!this.ctx) {
      try {
        this.ctx = new AC({ latencyHint: 'interactive' });
      } catch {
        return;
      }
      this.ctx.onstatechange = () => {
        this.emit();
        if (this.ctx?.state === 'running' && this.mode !== 'off' && !this.osc) this.startTone();
      };
    }
    if (this.ctx.state === 'suspended') void this.ctx.resume().then(() => this.emit(), () => this.emit());
    this.emit();
  }

  set(mode: SirenMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.stopTone();
    if (mode !== 'off') this.startTone();
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }

  private startTone(): void {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running' || this.mode === 'off') return;
    const osc = ctx.createOscillator();
    osc.type = 'square';
    // Soften the square wave: still piercing, less harsh on big wall speakers.
    const filter = ctx.createBiquadFilter();
    filter.type = 'lowpass';
    filter.frequency.value = 2600;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, ctx.currentTime);
    gain.gain.linearRampToValueAtTime(VOLUME, ctx.currentTime + 0.05);
    osc.connect(filter).connect(gain).connect(ctx.destination);
    this.osc = osc;
    this.gain = gain;
    this.scheduledUntil = ctx.currentTime;
    this.high = true;
    this.schedule();
    osc.start();
    this.timer = setInterval(() => this.schedule(), 400);
  }

  private schedule(): void {
    const ctx = this.ctx;
    const osc = this.osc;
    if (!ctx || !osc || this.mode === 'off') return;
    const tone = TONES[this.mode];
    const horizon = ctx.currentTime + LOOKAHEAD_S;
    if (this.scheduledUntil < ctx.currentTime) this.scheduledUntil = ctx.currentTime;
    while (this.scheduledUntil < horizon) {
      osc.frequency.setValueAtTime(this.high ? tone.hi : tone.lo, this.scheduledUntil);
      this.high = !this.high;
      this.scheduledUntil += tone.step;
    }
  }

  private stopTone(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const { ctx, osc, gain } = this;
    this.osc = null;
    this.gain = null;
    if (ctx && osc && gain) {
      const now = ctx.currentTime;
      gain.gain.cancelScheduledValues(now);
      gain.gain.setValueAtTime(gain.gain.value, now);
      gain.gain.linearRampToValueAtTime(0, now + 0.05);
      osc.stop(now + 0.08);
    }
  }
}

/**
 * One camera's PullPoint subscription, kept alive: create it, long-poll PullMessages (the package
 * waits up to 1 min per poll), renew whenever the subscription would end before the next poll
 * returns, and on any failure drop it and create a new one after a backoff (5 s doubling to 5 min,
 * with jitter; `kick()` cuts a backoff short, e.g. when a liveness probe sees the camera again).
 * Every answer from the subscription is a sign of life.
 */
import type { Logger } from 'pino';
import type { Agents } from './soap-client.js';
import { createPullPoint, hasEvents, openCam, pullMessages, renew, services, setCameraClock, unsubscribe, type CamHandle } from './cam.js';
import { probeLiveness } from './liveness.js';
import { redactUrl } from '../../redact.js';
import { ProbeError, type CameraEvent, type OnvifTarget } from './types.js';

export type SubscriptionState = 'active' | 'failed' | 'unsupported';

export interface PullPointOptions {
  target: OnvifTarget;
  /** Agents for all of this subscription's requests; destroying them cuts a pending long poll (stop). */
  agents: Agents;
  timeoutMs: number;
  log: Logger;
  topicFilter: (topic: string) => boolean;
  onEvent: (e: CameraEvent) => void;
  onAlive: (atMs: number) => void;
  onState?: (state: SubscriptionState, message?: string) => void;
  /** Delay before the first subscription, to spread a fleet's start. */
  startDelayMs: number;
}

const PULL_WAIT_MS = 60_000; // what the package asks for (PT1M)
const RENEW_MARGIN_MS = PULL_WAIT_MS + 15_000;
const BACKOFF_MIN_MS = 5_000;
const BACKOFF_MAX_MS = 5 * 60_000;
const UNSUPPORTED_RETRY_MS = 30 * 60_000;

export class PullPointSubscriber {
  private stopped = false;
  private h?: CamHandle;
  private wake?: () => void;
  private backoffMs = BACKOFF_MIN_MS;
  private loop?: Promise<void>;
  private sleeping = false;
  state: SubscriptionState | 'starting' = 'starting';

  constructor(private readonly o: PullPointOptions) {}

  start(): void {
    this.loop ??= this.run().catch((e: unknown) => {
      this.o.log.error({ camera: this.o.target.id, err: e instanceof Error ? e.message : String(e) }, 'ONVIF event loop crashed');
    });
  }

  /** Retry now if waiting after a failure. */
  kick(): void {
    if (this.sleeping && this.state === 'failed') this.wake?.();
  }

  /**
   * Stops the loop (synchronously marks it stopped; the caller then destroys the agents to cut a
   * pending long poll) and resolves once it has ended, after a best-effort Unsubscribe.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    return this.loop ?? Promise.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleeping = true;
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        this.sleeping = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private setState(s: SubscriptionState, message?: string): void {
    if (this.state !== s) {
      this.state = s;
      this.o.onState?.(s, message);
    }
  }

  private async run(): Promise<void> {
    const { target, timeoutMs, log } = this.o;
    const camera = target.id;
    if (this.o.startDelayMs > 0) await this.sleep(this.o.startDelayMs);
    while (!this.stopped) {
      let subscribed = false;
      try {
        const h = (this.h = openCam(target, this.o.agents, timeoutMs));
        const live = await probeLiveness(target, timeoutMs, { agents: this.o.agents });
        if (!live.ok) throw new ProbeError(live.reason, live.message);
        setCameraClock(h, live.clockSkewMs);
        await services(h, Date.now() + timeoutMs);
        if (!hasEvents(h)) {
          this.setState('unsupported', 'the camera offers no event service');
          log.info({ camera, url: redactUrl(target.url) }, 'ONVIF camera has no event service; not subscribing');
          await this.sleep(UNSUPPORTED_RETRY_MS);
          continue;
        }
        let endsAt = await createPullPoint(h, Date.now() + timeoutMs, this.o.agents);
        subscribed = true;
        this.o.onAlive(Date.now());
        this.setState('active');
        this.backoffMs = BACKOFF_MIN_MS;
        while (!this.stopped) {
          if (endsAt - Date.now() < RENEW_MARGIN_MS) {
            endsAt = (await renew(h, Date.now() + timeoutMs)) ?? Date.now() + 120_000;
            this.o.onAlive(Date.now());
          }
          const r = await pullMessages(h, 100);
          if (this.stopped) break;
          this.o.onAlive(Date.now());
          if (r.terminationMs !== undefined) endsAt = Math.max(endsAt, r.terminationMs);
          for (const e of r.events) {
            if (!this.o.topicFilter(e.topic)) continue;
            try {
              this.o.onEvent(e);
            } catch (err) {
              log.error({ camera, err: err instanceof Error ? err.message : String(err) }, 'onEvent handler threw');
            }
          }
        }
      } catch (e) {
        if (this.stopped) break;
        const reason = e instanceof ProbeError ? e.reason : 'protocol';
        const message = e instanceof Error ? e.message : String(e);
        this.setState('failed', `${reason}: ${message}`);
        // Credentials problems will not fix themselves quickly: back off harder.
        const wait = reason === 'auth' ? BACKOFF_MAX_MS : this.backoffMs;
        log.warn({ camera, reason, err: message, retryInMs: Math.round(wait) }, 'ONVIF event subscription failed; will re-create it');
        this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
        await this.sleep(wait * (0.8 + 0.4 * Math.random()));
      } finally {
        if (this.stopped && subscribed && this.h) {
          // Cameras have few pull points (often 2–8): hand ours back rather than leave it to expire.
          await unsubscribe(this.h, Date.now() + Math.min(timeoutMs, 2000)).catch(() => {});
        }
      }
    }
  }
}

/**
 * ONVIF camera adapter: liveness and details probes, PullPoint events, WS-Discovery, and the
 * fleet watcher that schedules them. Only `cam.ts` here touches the `onvif` package.
 * Credentials are taken from the targets (or the URL's userinfo) and never logged.
 */
export { probeLiveness, parseSystemDateAndTime } from './liveness.js';
export { probeDetails } from './details.js';
export { fetchSnapshotUri, type SnapshotUriOutcome } from './snapshot-uri.js';
export { CameraWatcher, DEFAULT_EVENT_TOPICS, type CameraWatcherOptions } from './watcher.js';
export { discover, parseProbeMatches, type DiscoverOptions, type DiscoveredDevice } from './discovery.js';
export type { SubscriptionState } from './pullpoint.js';
export { createAgents, type Agents } from './soap-client.js';
export { type CameraEvent, type DetailsOutcome, type FailureReason, type OnvifTarget, type ProbeOutcome } from './types.js';

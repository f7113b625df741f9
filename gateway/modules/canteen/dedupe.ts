/**
 * Which case an AI event belongs to (contract §8), pure: one rat on one camera is one case, not
 * sixty. Events of one kind from one camera join the open (not closed) case of that camera and
 * kind while they come within the rule's `dedupeWindowMin` of the case's *last* event: the window
 * slides, so a rat seen every minute for an hour stays one case, and the first frame after a quiet
 * window opens a new one. An event under the rule's minimum confidence, or from a camera in an area
 * the rule does not cover, opens nothing: it is only counted (events by kind).
 *
 * A camera that names no area (a canteen camera registered before areas) gets every rule: dropping
 * its rats because the registry is incomplete would be worse than a case in a dining hall.
 */
import type { CanteenArea, AiKind } from '../../contract/mqtt.js';
import type { AiRule } from '../../contract/policy.js';

export interface OpenCaseRef {
  caseId: string;
  /** The last event that joined it (epoch ms). */
  lastEventMs: number;
}

/** The open cases by (camera, kind): the module keeps this map, updated as cases open, join and close. */
export type OpenCases = ReadonlyMap<string, OpenCaseRef>;
export const caseKey = (camera: string, kind: AiKind): string => `${camera}\u0000${kind}`;

export interface AiEventIn {
  camera: string;
  area?: CanteenArea;
  kind: AiKind;
  /** Absent: taken as sure (a camera that reports no confidence reports only what it is sure of). */
  confidence?: number;
  atMs: number;
}

export type AiDecision =
  | { action: 'join'; caseId: string }
  | { action: 'open' }
  | { action: 'count'; why: 'low_confidence' | 'outside_area'; reason: string };

export function decideAiEvent(e: AiEventIn, rule: AiRule, open: OpenCases): AiDecision {
  if (e.confidence !== undefined && e.confidence < rule.minConfidence)
    return { action: 'count', why: 'low_confidence', reason: `confidence ${e.confidence} is under ${rule.minConfidence} for ${e.kind}` };
  if (e.area !== undefined && !rule.areas.includes(e.area))
    return { action: 'count', why: 'outside_area', reason: `${e.kind} does not apply in area ${e.area} (only ${rule.areas.join(', ')})` };
  const c = open.get(caseKey(e.camera, e.kind));
  // An event older than the case's last one (a late redelivery) is within the window by definition.
  if (c && e.atMs - c.lastEventMs <= rule.dedupeWindowMin * 60_000) return { action: 'join', caseId: c.caseId };
  return { action: 'open' };
}

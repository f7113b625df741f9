/**
 * What the six rules judge (contract §7): one school's facts, gathered by the targets module from
 * its projections, and the verdict each rule returns. Plain data: the rules are pure functions of it.
 *
 * Times of day are minutes after local midnight (the policy's offset); instants are epoch ms.
 */
import type { CheckinRole } from '../../contract/mqtt.js';

export type Status = 'met' | 'not_met' | 'unknown';

export interface Reason {
  zh: string;
  en: string;
}

export interface Verdict {
  status: Status;
  /** Why, in words an operator reads aloud; empty only when met with nothing to add. */
  reasons: Reason[];
  /** What it rests on: `checkin:{device}:{ISO}`, `gate:{device}:{ISO}`, `inspection:{id}`, `media:{sha256}`, `device:{id}`, `uplink:{device}:{ISO}`. */
  evidence: string[];
  /** When this verdict stops being true without any new input (evidence ages out, a repair deadline passes); null: not before new input. */
  staleAt: number | null;
}

/** A window of the day, in minutes after local midnight, `to` exclusive. */
export interface Window {
  from: number;
  to: number;
}

export interface Peak extends Window {
  id: string;
  name: string;
  nameEn?: string;
}

export interface Checkin {
  minute: number;
  role: CheckinRole;
  person?: string;
  ref: string;
}

/** A gate's opening within one day, in minutes (`to` = the minute it closed, or the end of what is known). */
export interface Opening {
  from: number;
  to: number;
  ref: string;
}

/** What one school did on one local day. */
export interface DayFacts {
  day: string;
  /** By post id (gate posts, and `gatehouse`). */
  checkins: Record<string, Checkin[]>;
  /** By gate id. */
  openings: Record<string, Opening[]>;
  /** The school's last police uplink report of the day (a past day's verdicts are judged from it). */
  uplink?: { up: boolean; atMs: number; ref: string };
}

export interface Inspection {
  id: string;
  item: string;
  gate?: string;
  result: 'pass' | 'fail';
  atMs: number;
  /** sha256 of the photo, when one was given. */
  photo?: string;
}

export interface GuardOnFile {
  person: string;
  name: string;
  licence: string;
  /** Local date, YYYY-MM-DD: the last day the licence is valid. */
  licenceExpires: string;
}

export interface DeviceHealth {
  id: string;
  /** undefined: never heard from. */
  online?: boolean;
  /** When it went down (offline devices). */
  downSinceMs?: number;
}

export interface SchoolFacts {
  school: { id: string; students: number; boarders: number; gates: { id: string; name: string; posts: string[] }[] };
  windows: { open: Window[]; peaks: Peak[] };
  nowMs: number;
  /** The last complete school day: what "on the last school day" judges. Absent: none yet (a new gateway, or before the first term). */
  judged?: DayFacts;
  /** Today so far when today is a school day, with the minute it is now: failures already certain count at once. */
  today?: DayFacts & { nowMinute: number };
  /** When the judged day stops being the last school day (the end of the next school day after it). */
  judgedUntilMs?: number;
  perimeter?: Inspection;
  /** Latest `barrier` inspection by gate id. */
  barriers: Record<string, Inspection | undefined>;
  guards: GuardOnFile[];
  buttons: (DeviceHealth & { lastTestMs?: number })[];
  cameras: (DeviceHealth & { covers: string[] })[];
  nvrs: (DeviceHealth & { uplink?: { up: boolean; atMs: number; ref: string } })[];
}

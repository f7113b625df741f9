/**
 * Deadline scheduling for liveness: a hashed wheel of fixed-width slots keyed by absolute slot
 * number. Scheduling is O(1); a tick costs only the slots that fell due, never a scan of all
 * devices. Entries are lazy: a device that heartbeats keeps its one entry and is only looked at
 * when that entry falls due (then rescheduled to its real, later deadline), so a healthy device
 * costs one wheel operation per missed-heartbeat window, not one per heartbeat.
 */
export class DeadlineWheel<T = string> {
  private readonly slots = new Map<number, T[]>();
  private cursor: number;

  constructor(
    private readonly slotMs: number,
    nowMs: number,
  ) {
    this.cursor = Math.floor(nowMs / slotMs);
  }

  /** Schedules `id` to come due at or just after `atMs`. */
  schedule(id: T, atMs: number): void {
    const slot = Math.max(Math.ceil(atMs / this.slotMs), this.cursor + 1);
    const list = this.slots.get(slot);
    if (list) list.push(id);
    else this.slots.set(slot, [id]);
  }

  /** Every id whose slot has come due by `nowMs`, in deadline order. */
  due(nowMs: number): T[] {
    const upto = Math.floor(nowMs / this.slotMs);
    if (upto <= this.cursor) return [];
    const out: T[] = [];
    // After a long pause walk only the slots that exist, not every empty one in between.
    if (upto - this.cursor > this.slots.size) {
      const keys = [...this.slots.keys()].filter((k) => k <= upto).sort((a, b) => a - b);
      for (const k of keys) {
        for (const id of this.slots.get(k)!) out.push(id);
        this.slots.delete(k);
      }
    } else {
      for (let s = this.cursor + 1; s <= upto; s++) {
        const list = this.slots.get(s);
        if (!list) continue;
        for (const id of list) out.push(id);
        this.slots.delete(s);
      }
    }
    this.cursor = upto;
    return out;
  }

  get size(): number {
    let n = 0;
    for (const l of this.slots.values()) n += l.length;
    return n;
  }
}

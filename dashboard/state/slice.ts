/**
 * What a module's part of the wall screen state is, and the combiner that puts the parts together
 * (the idea of Redux's `combineReducers`, written out: no dependency). Everything here is pure.
 */
import type { FeedFrame, Snapshot } from '../../gateway/contract/api.js';

/** One module's slice of the wall state. None of its functions mutates its input. */
export interface Slice<S> {
  /** The feed frame types this slice owns (contract §4): the combiner gives its reducer these and no others. */
  readonly frames: readonly string[];
  /** The value before the first snapshot. */
  initial(): S;
  /** The value after a snapshot. Its fields may be missing: the slice decides between `prev` and empty. */
  load(prev: S, snapshot: Partial<Snapshot>): S;
  /** Applies one delta of a type in `frames` (its seq already checked). `now` (epoch ms) only stamps frames that carry no time. */
  reduce(slice: S, frame: FeedFrame, now: number): S;
}

// `any`: Slice<S> is invariant in S, so a table of different slices has no narrower common type.
export type SliceTable = Record<string, Slice<any>>;

/** The state a table of slices makes: one field per slice, named by its key in the table. */
export type SliceState<T extends SliceTable> = { [K in keyof T]: T[K] extends Slice<infer S> ? S : never };

export interface Combined<T extends SliceTable> {
  readonly table: T;
  initial(): SliceState<T>;
  /** Every slice loads from the snapshot; fields outside the table (bookkeeping) are kept. */
  load<W extends SliceState<T>>(state: W, snapshot: Partial<Snapshot>): W;
  /** Gives the frame to the slices that own its type; the same object back when none does. */
  reduce<W extends SliceState<T>>(state: W, frame: FeedFrame, now: number): W;
  /** The slices that own a frame type, in table order. */
  owners(type: string): readonly (keyof T & string)[];
}

export function combineSlices<T extends SliceTable>(table: T): Combined<T> {
  const keys = Object.keys(table) as (keyof T & string)[];
  const owners = new Map<string, (keyof T & string)[]>();
  for (const key of keys) for (const type of table[key].frames) owners.set(type, [...(owners.get(type) ?? []), key]);
  return {
    table,
    initial() {
      const out: Record<string, unknown> = {};
      for (const key of keys) out[key] = table[key].initial();
      return out as SliceState<T>;
    },
    load(state, snapshot) {
      const out: Record<string, unknown> = { ...state };
      for (const key of keys) out[key] = table[key].load(state[key], snapshot);
      return out as typeof state;
    },
    reduce(state, frame, now) {
      const mine = owners.get(frame.type);
      if (!mine) return state;
      const out: Record<string, unknown> = { ...state };
      for (const key of mine) out[key] = table[key].reduce(state[key], frame, now);
      return out as typeof state;
    },
    owners: (type) => owners.get(type) ?? [],
  };
}

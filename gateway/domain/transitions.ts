/**
 * A lifecycle as data: each action names the state it leads to and the states it may start from.
 * Shared by the alarm lifecycle (contract §3) and the canteen case lifecycle (contract §8), so both
 * read as their table and an action out of order is refused the same way (HTTP 409 with the state).
 */
export type TransitionTable<S extends string, A extends string> = { readonly [K in A]: { readonly to: S; readonly from: readonly S[] } };

/** The state `action` leads to from `state`, or undefined when the table does not allow it. */
export function nextState<S extends string, A extends string>(table: TransitionTable<S, A>, state: S, action: A): S | undefined {
  const rule = table[action];
  return rule.from.includes(state) ? rule.to : undefined;
}

/** The actions the table allows from `state`, in the table's order (what a console offers as buttons). */
export function allowedActions<S extends string, A extends string>(table: TransitionTable<S, A>, state: S): A[] {
  return (Object.keys(table) as A[]).filter((a) => table[a].from.includes(state));
}

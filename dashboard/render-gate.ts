/**
 * Which parts of the wall need drawing (issue #12): a part is drawn again only when one of its
 * inputs is not the same value as at its last drawing (Object.is). The state's slices are
 * immutable, so an unchanged slice is the same object: a feed frame that moved one slice redraws
 * the parts that show it, not the whole wall.
 */
export class RenderGate {
  private readonly last = new Map<string, readonly unknown[]>();

  /** True (and remembers `inputs`) when `part` must be drawn: first time, forced, or an input changed. */
  changed(part: string, inputs: readonly unknown[], force = false): boolean {
    const prev = this.last.get(part);
    if (!force && prev && prev.length === inputs.length && prev.every((x, i) => Object.is(x, inputs[i]))) return false;
    this.last.set(part, inputs);
    return true;
  }

  /** Everything is drawn at the next render (new views). */
  reset(): void {
    this.last.clear();
  }
}

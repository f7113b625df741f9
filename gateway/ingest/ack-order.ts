/**
 * The PUBACKs of one MQTT connection, released in the order their PUBLISHes arrived (MQTT 3.1.1
 * §4.6, MQTT 5 §4.6) and each only once its message is durable (issue 13).
 *
 * Several QoS 1 messages are in flight at once, so the dispatcher's group commit has something to
 * group, while no PUBACK overtakes an earlier one: a message that is done early (a refused one, a
 * batch that committed first) waits for the ones that arrived before it. A message that could not
 * be stored stops the line: nothing after it is acknowledged on this connection, and `fail` is
 * called once (the transport drops the connection, and the broker redelivers everything unacked).
 */

export class AckOrder {
  /** Message ids in arrival order, from `head`; `ready[i]` once slot i may be acknowledged. */
  private ids: number[] = [];
  private ready: boolean[] = [];
  private head = 0;
  /** Slots dropped from the front of the arrays by compaction. */
  private offset = 0;
  private closed = false;
  /** Callbacks waiting for a free place in the window (the reader is paused meanwhile). */
  private waiting: (() => void)[] = [];

  /**
   * @param send writes the PUBACK of `messageId` (called in arrival order)
   * @param fail a message could not be stored: drop the connection (called at most once)
   * @param window how many messages may await their PUBACK before reading pauses
   */
  constructor(
    private readonly send: (messageId: number) => void,
    private readonly fail: (err: Error) => void,
    readonly window: number,
  ) {
    if (!(window >= 1)) throw new RangeError('window must be at least 1');
  }

  /** Messages taken and not yet acknowledged. */
  get pending(): number {
    return this.ids.length - this.head;
  }

  /**
   * A QoS 1 PUBLISH arrived: returns its `done` (call it once, with an error if it was not
   * stored). `resume` is called when the connection may read its next packet: at once while the
   * window has room, otherwise once an earlier PUBACK has been released.
   */
  take(messageId: number, resume: () => void): (err?: Error) => void {
    const slot = this.offset + this.ids.length; // absolute: the arrays are compacted from time to time
    this.ids.push(messageId);
    this.ready.push(false);
    if (this.pending < this.window) resume();
    else this.waiting.push(resume);
    let called = false;
    return (err) => {
      if (called || this.closed) return;
      called = true;
      if (err) return this.stop(err);
      this.ready[slot - this.offset] = true;
      this.release();
    };
  }

  /** The connection is gone: nothing more is sent on it (what was not acknowledged is redelivered). */
  close(): void {
    this.closed = true;
    this.waiting = [];
  }

  private stop(err: Error): void {
    this.close();
    this.fail(err);
  }

  private release(): void {
    while (this.head < this.ids.length && this.ready[this.head]) {
      const id = this.ids[this.head];
      this.head++;
      this.send(id);
      if (this.closed) return;
      this.waiting.shift()?.();
    }
    // Compact now and then, so the arrays do not grow for the connection's lifetime.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.ready = this.ready.slice(this.head);
      this.offset += this.head;
      this.head = 0;
    }
  }

}

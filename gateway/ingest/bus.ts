/** What the core needs from MQTT, whichever transport is under it (embedded broker or client). */
export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
}

/** `done(err)` is the acknowledgement: the transport sends PUBACK only after it is called without error. */
export type InboundHandler = (msg: InboundMessage, done: (err?: Error) => void) => void;

export interface Bus {
  readonly mode: 'embedded' | 'external';
  start(onMessage: InboundHandler): Promise<void>;
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void;
  connected(): boolean;
  describe(): Record<string, unknown>;
  stop(): Promise<void>;
}

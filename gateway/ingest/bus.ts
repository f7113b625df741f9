/** What the core needs from MQTT, whichever transport is under it (embedded broker or client). */
export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

/** Who published, as the embedded broker authenticated it (contract §6); absent on an external broker, whose own ACL decides. */
export type MqttIdentity = { kind: 'device'; device: string; school: string } | { kind: 'user'; user: string };

/** The X.509 certificate a client presented over mqtts (contract §6), as the TLS layer judged it. */
export interface ClientCertificate {
  /** Signed by TLS_CA_FILE's CA and valid now (the TLS handshake's own verdict). */
  verified: boolean;
  /** The subject's common name; undefined when there is none, or more than one. */
  cn?: string;
  /** Why it is not verified (OpenSSL's code, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`). */
  error?: string;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  from?: MqttIdentity;
}

/**
 * `done(err)` is the acknowledgement: the transport sends PUBACK only after it is called without
 * error. `done(undefined, {deliver: false})`: acknowledged, but delivered to no subscriber (a refused message).
 */
export type InboundHandler = (msg: InboundMessage, done: (err?: Error, opts?: { deliver: false }) => void) => void;

export interface Bus {
  readonly mode: 'embedded' | 'external';
  start(onMessage: InboundHandler): Promise<void>;
  publish(topic: string, payload: string | Buffer, opts: PublishOptions): void;
  connected(): boolean;
  describe(): Record<string, unknown>;
  /** Closes the connection of this client id, if it has one (its credentials were replaced). */
  disconnect?(clientId: string): void;
  stop(): Promise<void>;
}

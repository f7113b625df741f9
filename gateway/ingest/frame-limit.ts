/**
 * Refuses an MQTT packet over a size limit from its fixed header, before any of its body is
 * buffered (contract §6: "MQTT packets over 64 KiB are refused by the broker before they are
 * buffered whole"). The parser underneath would otherwise collect a 200 MB publish in memory
 * before looking at it.
 *
 * An MQTT fixed header is one byte of type and flags, then the remaining length as a variable
 * byte integer of 1–4 bytes ([MQTT-2.2.3]); the packet is that header plus `remaining` bytes.
 */
import { Duplex } from 'node:stream';
import type net from 'node:net';

export class FrameLimit {
  /** Bytes still to skip of the current packet's body; -1 while reading a fixed header. */
  private skip = -1;
  private headerSeen = 0;
  private remaining = 0;
  private multiplier = 1;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feeds bytes from the socket; returns the size of the first packet over the limit, or null. */
  feed(chunk: Buffer): number | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.skip = -1;
        continue;
      }
      const byte = chunk[i++];
      if (this.headerSeen === 0) {
        this.headerSeen = 1; // type and flags
        this.remaining = 0;
        this.multiplier = 1;
        continue;
      }
      this.remaining += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.headerSeen++;
      if (byte & 0x80) {
        if (this.headerSeen > 4) return Number.POSITIVE_INFINITY; // a malformed length: more than 4 bytes
        continue;
      }
      const size = this.headerSeen + this.remaining;
      if (size > this.maxPacketBytes) return size;
      this.headerSeen = 0;
      this.skip = this.remaining > 0 ? this.remaining : -1;
    }
    return null;
  }
}

/** The socket as a stream for the broker, cut the moment a packet announces itself over the limit. */
export function limitFrames(socket: net.Socket, maxPacketBytes: number, onTooBig: (bytes: number) => void): Duplex {
  const limit = new FrameLimit(maxPacketBytes);
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const over = limit.feed(chunk);
    if (over !== null) {
      onTooBig(over);
      socket.destroy();
      return;
    }
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', (err) => stream.destroy(err));
  return stream;
}

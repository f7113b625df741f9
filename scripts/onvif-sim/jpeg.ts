/**
 * A real, decodable baseline JPEG built in code: 8×8 pixels, one grey level, one component.
 *
 * A uniform 8×8 block has only a DC coefficient (8 × (level − 128) with a quantisation table of
 * all 1s), so the entropy-coded data is: the DC category's Huffman code, the category's extra bits,
 * then end-of-block. Each Huffman table holds exactly one symbol with the one-bit code `0`.
 * ImageMagick and browsers decode it; the tests check the SOI/EOI markers.
 */

/** Category (bit length) of a DC difference, as in ITU T.81 F.1.2.1. */
function category(v: number): number {
  let a = Math.abs(v);
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

export function tinyJpeg(level = 128): Buffer {
  const grey = Math.max(0, Math.min(255, Math.round(level)));
  const dc = 8 * (grey - 128);
  const cat = category(dc);
  // Extra bits: the value itself when positive, its one's complement (v − 1) in `cat` bits when negative.
  const extra = dc >= 0 ? dc : (dc - 1) & ((1 << cat) - 1);

  // Bit string: DC code "0", the extra bits, the AC end-of-block code "0"; pad with 1s.
  let bits = '0' + (cat > 0 ? extra.toString(2).padStart(cat, '0') : '') + '0';
  while (bits.length % 8 !== 0) bits += '1';
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    const byte = parseInt(bits.slice(i, i + 8), 2);
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00); // byte stuffing
  }

  const counts = (n: number) => [n, ...new Array<number>(15).fill(0)];
  const bytes = [
    0xff, 0xd8, // SOI
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // APP0 JFIF
    0xff, 0xdb, 0x00, 0x43, 0x00, ...new Array<number>(64).fill(1), // DQT: table 0, all 1s
    0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00, // SOF0: 8×8, 1 component
    0xff, 0xc4, 0x00, 0x14, 0x00, ...counts(1), cat, // DHT: DC table 0, one symbol (this category)
    0xff, 0xc4, 0x00, 0x14, 0x10, ...counts(1), 0x00, // DHT: AC table 0, one symbol (EOB)
    0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, // SOS
    ...scan,
    0xff, 0xd9, // EOI
  ];
  return Buffer.from(bytes);
}

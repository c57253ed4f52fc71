/**
 * The Internet checksum (RFC 1071) and the TCP checksum with the IPv4 pseudo-header
 * (RFC 9293 §3.1).
 *
 * Runs once or twice per segment, so it is written for speed: big-endian 16-bit words are built
 * with byte math straight from the `Uint8Array` (no DataView, no allocation per call), summed
 * in a plain integer, and the carries are folded once at the end of each chunk. Chunks keep the
 * running sum below 2^30, so it stays a small integer for the JIT however long the input is.
 */

/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;

/** Bytes per chunk: 8192 words of at most 0xffff sum to less than 2^29. */
const CHUNK_BYTES = 16_384;

/**
 * Ones'-complement sum of `bytes[start, end)` read as big-endian 16-bit words, added to
 * `initial`. An odd trailing byte is padded with a zero byte (RFC 1071 §4.1). The result is
 * folded to 16 bits but NOT complemented, so sums of several ranges can be chained.
 */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  let sum = initial;
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  while (i < evenEnd) {
    const chunkEnd = Math.min(evenEnd, i + CHUNK_BYTES);
    // Eight bytes (four words) per iteration; `chunkEnd - i` is even, so the tail loop takes
    // whole words.
    const unrolledEnd = chunkEnd - ((chunkEnd - i) & 7);
    while (i < unrolledEnd) {
      sum +=
        ((bytes[i]! << 8) | bytes[i + 1]!) +
        ((bytes[i + 2]! << 8) | bytes[i + 3]!) +
        ((bytes[i + 4]! << 8) | bytes[i + 5]!) +
        ((bytes[i + 6]! << 8) | bytes[i + 7]!);
      i += 8;
    }
    while (i < chunkEnd) {
      sum += (bytes[i]! << 8) | bytes[i + 1]!;
      i += 2;
    }
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (evenEnd < end) sum += bytes[evenEnd]! << 8;
  return foldSum(sum);
}

/** Folds the carries of a 32-bit ones'-complement sum into 16 bits (RFC 1071 §4.1). */
export function foldSum(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * The Internet checksum of `bytes[start, end)`: the ones' complement of the ones'-complement
 * sum. Computed with the checksum field zeroed, this is the value to write; computed over a
 * header that includes its checksum, it is 0 exactly when the header is intact.
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return ~onesSum(bytes, start, end) & 0xffff;
}

/**
 * Ones'-complement sum of the IPv4 pseudo-header (RFC 9293 §3.1): source and destination
 * addresses, a zero byte, the protocol, and the TCP length (header plus data, in bytes).
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return foldSum(
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (length & 0xffff),
  );
}

/**
 * The TCP checksum of the segment in `bytes[start, end)` sent from `src` to `dst` (u32
 * addresses). With the segment's checksum field zeroed this is the value to put on the wire;
 * over a received segment it is 0 exactly when the checksum verifies (see `tcpChecksumOk`).
 */
export function tcpChecksum(bytes: Uint8Array, start: number, end: number, src: number, dst: number): number {
  return ~onesSum(bytes, start, end, pseudoHeaderSum(src, dst, IPPROTO_TCP, end - start)) & 0xffff;
}

/**
 * True when the TCP segment in `bytes[start, end)` carries a correct checksum for `src`→`dst`.
 * Both representations of ones'-complement zero on the wire (0x0000 and 0xffff) verify.
 */
export function tcpChecksumOk(
  bytes: Uint8Array,
  start: number,
  end: number,
  src: number,
  dst: number,
): boolean {
  return tcpChecksum(bytes, start, end, src, dst) === 0;
}

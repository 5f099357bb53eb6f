/**
 * The spill file format (Ray's): per object a 24-byte header of three little-endian u64 (owner
 * address length, metadata length, data length), then the owner address, metadata and data.
 * Objects of one batch are fused into one file; each is addressed as `PATH?offset=N&size=M&xxh3=HEX`
 * (Ray's URL plus a checksum of the record, verified on restore).
 * @module
 */

/** Bytes of an object's header in a spill file. */
export const SPILL_HEADER_BYTES = 24;

/** Where one object lives in a spill file, and the checksum of its bytes there. */
export interface SpillLocation {
  path: string;
  offset: number;
  size: number;
  /** XXH3-64 of the object's record (header, owner address, metadata, data), chained part by part. */
  checksum: bigint;
}

/**
 * The URL of an object at `offset` (its header) taking `size` bytes in the file at `path`. The
 * checksum rides in the URL, which the store keeps in memory: a damaged file cannot carry a
 * matching checksum of its own.
 */
export function encodeSpillUrl(location: SpillLocation): string {
  const { path, offset, size, checksum } = location;
  return `${path}?offset=${offset}&size=${size}&xxh3=${checksum.toString(16).padStart(16, "0")}`;
}

/**
 * Parses a spill URL.
 * @throws {RangeError} when it is not `PATH?offset=N&size=M&xxh3=HEX` with whole numbers
 */
export function parseSpillUrl(url: string): SpillLocation {
  const match = /^(.+)\?offset=(\d+)&size=(\d+)&xxh3=([0-9a-f]{16})$/.exec(url);
  if (match === null) throw new RangeError(`Not a spill URL: ${url}`);
  const offset = Number(match[2]);
  const size = Number(match[3]);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || size < SPILL_HEADER_BYTES) {
    throw new RangeError(`Spill URL out of range: ${url}`);
  }
  return { path: match[1], offset, size, checksum: BigInt(`0x${match[4]}`) };
}

/** The header of one object. */
export function encodeSpillHeader(ownerBytes: number, metadataBytes: number, dataBytes: number): Uint8Array {
  const header = new Uint8Array(SPILL_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(ownerBytes), true);
  view.setBigUint64(8, BigInt(metadataBytes), true);
  view.setBigUint64(16, BigInt(dataBytes), true);
  return header;
}

/** Reads a header: [owner address, metadata, data] lengths. */
export function decodeSpillHeader(header: Uint8Array): [number, number, number] {
  const view = new DataView(header.buffer, header.byteOffset, SPILL_HEADER_BYTES);
  return [Number(view.getBigUint64(0, true)), Number(view.getBigUint64(8, true)), Number(view.getBigUint64(16, true))];
}

/**
 * Reads an object's header and checks it against the sizes the store knows and the record size
 * in its URL; returns [owner address, metadata, data] lengths.
 * @throws what `damaged` makes of the reason, when the header does not describe this object
 */
export function checkSpillHeader(
  header: Uint8Array,
  url: string,
  location: SpillLocation,
  expected: { dataSize: number; metadataSize: number },
  damaged: (message: string) => Error,
): [number, number, number] {
  const [ownerBytes, metadataBytes, dataBytes] = decodeSpillHeader(header);
  if (metadataBytes !== expected.metadataSize || dataBytes !== expected.dataSize) {
    throw damaged(
      `spilled object at ${url} has ${dataBytes}+${metadataBytes} bytes, expected ${expected.dataSize}+${expected.metadataSize}`,
    );
  }
  if (SPILL_HEADER_BYTES + ownerBytes + metadataBytes + dataBytes !== location.size) {
    throw damaged(`spilled object at ${url} is damaged: its header names an owner address of ${ownerBytes} bytes`);
  }
  return [ownerBytes, metadataBytes, dataBytes];
}

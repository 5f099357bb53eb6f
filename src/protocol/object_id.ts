/**
 * Object ids: opaque byte strings of 1 to 64 bytes. `ObjectId.random()` makes Ray-sized (20-byte) ids.
 * @module
 */

/** Shortest and longest id, in bytes. */
export const OBJECT_ID_BYTES_MIN = 1;
/** Longest id, in bytes. */
export const OBJECT_ID_BYTES_MAX = 64;
/** Length of ids made by {@linkcode ObjectId.random} (Ray's ObjectID size). */
export const OBJECT_ID_BYTES_RANDOM = 20;

/** Random bytes drawn from the CSPRNG in blocks: one call per ~200 ids instead of one per id. */
const randomPool = new Uint8Array(4096);
let randomPoolOffset = randomPool.length;

const charOf = String.fromCharCode;

// deno-fmt-ignore: one byte per argument, ten to a line
/**
 * A map key for id bytes: one char per byte, so equal ids give equal strings. The usual lengths
 * (Arrow's and our random 20 bytes, Ray's 28) pass their bytes as arguments of one call: `apply`
 * over a typed array goes through the runtime and cost ~2-4x as much (the store makes a key per
 * request), and one call makes a flat string where joining two halves made a cons string, which
 * every later hash of the key (the records' index, `Map`/`Set` lookups) flattened first: 0.44 us
 * per key and hash against 0.20 (`bench/README.md`, "Flat id keys").
 */
export function idKey(b: Uint8Array): string {
  if (b.length === 20) {
    return charOf(
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
      b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19],
    );
  }
  if (b.length === 28) {
    return charOf(
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
      b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19],
      b[20], b[21], b[22], b[23], b[24], b[25], b[26], b[27],
    );
  }
  return charOf.apply(null, b as unknown as number[]);
}

/** The bytes of an {@linkcode idKey} (a fresh array each call). */
export function keyBytes(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let index = 0; index < key.length; index++) bytes[index] = key.charCodeAt(index);
  return bytes;
}

/** Whether `bytes` has a valid id length. */
export function isValidIdLength(bytes: Uint8Array): boolean {
  return bytes.length >= OBJECT_ID_BYTES_MIN && bytes.length <= OBJECT_ID_BYTES_MAX;
}

/** An object's id. Immutable: the bytes are copied in and never handed out for writing. */
export class ObjectId {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  #key: string | undefined;

  private constructor(bytes: Uint8Array<ArrayBuffer>) {
    this.#bytes = bytes;
  }

  /**
   * A random 20-byte id.
   * @example
   * ```ts
   * const id = ObjectId.random();
   * console.log(id.toHex());
   * ```
   */
  static random(): ObjectId {
    if (randomPoolOffset + OBJECT_ID_BYTES_RANDOM > randomPool.length) {
      crypto.getRandomValues(randomPool);
      randomPoolOffset = 0;
    }
    const bytes = randomPool.slice(randomPoolOffset, randomPoolOffset + OBJECT_ID_BYTES_RANDOM);
    randomPoolOffset += OBJECT_ID_BYTES_RANDOM;
    return new ObjectId(bytes);
  }

  /**
   * An id with these bytes (copied).
   * @throws {RangeError} unless 1 to 64 bytes long
   */
  static fromBytes(bytes: Uint8Array): ObjectId {
    if (!isValidIdLength(bytes)) {
      throw new RangeError(
        `An object id has ${OBJECT_ID_BYTES_MIN} to ${OBJECT_ID_BYTES_MAX} bytes, got ${bytes.length}`,
      );
    }
    return new ObjectId(bytes.slice());
  }

  /**
   * An id from its hex form.
   * @throws {RangeError} for odd lengths, non-hex characters or a bad length
   */
  static fromHex(hex: string): ObjectId {
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError(`Not a hex object id: ${hex}`);
    const bytes = new Uint8Array(hex.length / 2);
    for (let index = 0; index < bytes.length; index++) bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
    return ObjectId.fromBytes(bytes);
  }

  /** A copy of the id's bytes. */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice();
  }

  /** The bytes without copying, for encoders inside this package: never write to them. */
  get rawBytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes;
  }

  /** Lower-case hex. */
  toHex(): string {
    let hex = "";
    for (const byte of this.#bytes) hex += byte.toString(16).padStart(2, "0");
    return hex;
  }

  /** A string usable as a Map key (one char per byte). */
  get key(): string {
    return this.#key ??= idKey(this.#bytes);
  }

  /** Whether both ids have the same bytes. */
  equals(other: ObjectId): boolean {
    return this.key === other.key;
  }

  /** The hex form. */
  toString(): string {
    return this.toHex();
  }

  /** The hex form, so `JSON.stringify` writes ids the way the CLI prints them. */
  toJSON(): string {
    return this.toHex();
  }

  /** `console.log(id)` and `Deno.inspect(id)` show `ObjectId(<hex>)`, not `ObjectId {}`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `ObjectId(${this.toHex()})`;
  }
}

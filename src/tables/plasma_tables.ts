/**
 * Arrow tables in the store, in the Arrow IPC stream format pyarrow programs use with Plasma
 * (`pa.ipc.open_stream(client.get_buffers([id])[0])`). Reads are zero-copy: the table's column
 * buffers are views of the object in shared memory. Writes copy each column once, straight into
 * the object. Invariant: a table got here is valid until its object is released; after that its
 * buffers read as empty, never as freed memory.
 * @module
 */
import { RecordBatchStreamWriter, type Table, tableFromIPC, type TypeMap } from "apache-arrow";
import { ObjectId, type PlasmaClient } from "../client/mod.ts";

/** Options of {@linkcode PlasmaTables.putTable}. */
export interface PutTableOptions {
  /** The object's id (default: a random 20-byte id, which pyarrow clients accept). */
  id?: ObjectId;
}

/** Options of {@linkcode PlasmaTables.getTable}. */
export interface GetTableOptions {
  /** -1 (default) waits until the object is sealed; 0 answers at once. */
  timeoutMs?: number;
}

/**
 * Puts and gets Arrow tables through a {@linkcode PlasmaClient}.
 * @example
 * ```ts
 * import { tableFromArrays } from "apache-arrow";
 * import { PlasmaClient } from "@plasma-deno/plasma";
 * import { PlasmaTables } from "@plasma-deno/plasma/tables";
 * await using client = await PlasmaClient.connect("/tmp/plasma.sock");
 * const tables = new PlasmaTables(client);
 * const id = await tables.putTable(tableFromArrays({ x: Float64Array.from([1, 2, 3]) }));
 * const table = await tables.getTable(id); // zero-copy; valid until release
 * console.log(table?.getChild("x")?.toArray());
 * await client.release(id);
 * ```
 */
export class PlasmaTables {
  readonly #client: PlasmaClient;

  /** @param client the connection the tables go through (it keeps the references) */
  constructor(client: PlasmaClient) {
    this.#client = client;
  }

  /**
   * Writes `table` as one sealed object holding its IPC stream.
   * @returns the object's id
   * @throws {ObjectExistsError} when the id is taken; {@linkcode OutOfMemoryError} when it does not fit
   */
  async putTable<T extends TypeMap>(table: Table<T>, options: PutTableOptions = {}): Promise<ObjectId> {
    // The writer's chunks are views of the columns plus small headers: the only copy of the
    // column data is the one into shared memory below.
    const writer = RecordBatchStreamWriter.writeAll(table);
    const chunks: Uint8Array[] = [];
    for await (const chunk of writer) chunks.push(chunk);
    const sizeBytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const id = options.id ?? ObjectId.random();
    const buffer = await this.#client.create(id, sizeBytes);
    let offset = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, offset);
      offset += chunk.byteLength;
    }
    await this.#client.seal(id);
    return id;
  }

  /**
   * Reads the table stored under `id` without copying its columns. The client holds one
   * reference to the object: call `client.release(id)` when done with the table.
   * @returns the table, or null when the object was not sealed in time
   * @throws {Error} from apache-arrow when the object is not an IPC stream (the reference is released first)
   */
  async getTable<T extends TypeMap = TypeMap>(id: ObjectId, options: GetTableOptions = {}): Promise<Table<T> | null> {
    const [object] = await this.#client.get([id], { timeoutMs: options.timeoutMs ?? -1 });
    if (object === null) return null;
    try {
      return tableFromIPC<T>(object.data);
    } catch (error) {
      await this.#client.release(id);
      throw error;
    }
  }
}

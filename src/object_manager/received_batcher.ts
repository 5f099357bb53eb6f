/**
 * Writes small pulled objects into the local store in batches: the objects whose bytes arrived
 * together (one read of a peer's answer) go to the store as one CreateAndSeal marked received
 * from remote, instead of a create and a seal each.
 * Invariant: a write resolves only once its object is in the store (written by this batch, or
 * created there by someone else, as a pull's create would find it); otherwise it rejects.
 * @module
 */
import { ObjectExistsError, type PlasmaClient } from "../client/mod.ts";
import { RECEIVED_BATCH_BYTES_MAX, RECEIVED_BATCH_OBJECTS_MAX } from "../cluster/constants.ts";
import type { ObjectId } from "../protocol/object_id.ts";

interface Pending {
  id: ObjectId;
  data: Uint8Array;
  metadata: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class ReceivedBatcher {
  readonly #clients: PlasmaClient[];
  #nextClient = 0;
  #pending: Pending[] = [];
  #bytes = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** @param clients store clients to spread the batches over (each serializes its calls) */
  constructor(clients: PlasmaClient[]) {
    if (clients.length === 0) throw new RangeError("a received batcher needs a store client");
    this.#clients = clients;
  }

  /**
   * Stores one object (its data then metadata in `whole`) with the next batch.
   * @throws the store's error for it (e.g. OutOfMemoryError) when it is not in the store after the batch
   */
  write(id: ObjectId, whole: Uint8Array, dataSize: number): Promise<void> {
    if (dataSize < 0 || dataSize > whole.length) throw new RangeError(`data size ${dataSize} of ${whole.length} bytes`);
    return new Promise((resolve, reject) => {
      const data = whole.subarray(0, dataSize);
      const metadata = whole.subarray(dataSize);
      if (this.#bytes + whole.length > RECEIVED_BATCH_BYTES_MAX) this.#flush();
      this.#pending.push({ id, data, metadata, resolve, reject });
      this.#bytes += whole.length;
      if (this.#pending.length >= RECEIVED_BATCH_OBJECTS_MAX) this.#flush();
      // A timer of 0 fires once the microtasks settle: every pull the same read completed is in.
      else this.#timer ??= setTimeout(() => this.#flush(), 0);
    });
  }

  #flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    this.#bytes = 0;
    if (batch.length === 0) return;
    const client = this.#clients[this.#nextClient++ % this.#clients.length];
    void this.#store(client, batch);
  }

  async #store(client: PlasmaClient, batch: Pending[]): Promise<void> {
    try {
      await client.putBatch(batch, { receivedFromRemote: true });
      for (const pending of batch) pending.resolve();
    } catch {
      // putBatch names only the first failure, and the others were still written: each object the
      // store does not hold sealed is tried alone, for its own outcome.
      for (const pending of batch) {
        try {
          if (!(await client.contains(pending.id))) await client.putBatch([pending], { receivedFromRemote: true });
          pending.resolve();
        } catch (error) {
          // An object created here meanwhile (by a local client or a concurrent pull) is not ours to write.
          if (error instanceof ObjectExistsError) pending.resolve();
          else pending.reject(error as Error);
        }
      }
    }
  }
}

/**
 * Batches directory look-ups: every locate asked for in the same turn of the event loop goes to
 * the directory in one call (one Redis pipeline), so pulling 10,000 objects costs a few round
 * trips instead of 10,000. Invariant: each caller gets exactly the locations of its own id.
 * @module
 */
import { IDS_PER_REQUEST_MAX } from "../cluster/constants.ts";
import type { ClusterDirectory, ObjectLocation } from "../cluster/directory.ts";

interface Asked {
  resolve: (locations: ObjectLocation[]) => void;
  reject: (error: Error) => void;
}

export class LocateBatcher {
  readonly #directory: ClusterDirectory;
  #asked = new Map<string, Asked[]>();
  #scheduled = false;

  constructor(directory: ClusterDirectory) {
    this.#directory = directory;
  }

  /** The live holders of one object, looked up together with the others asked for now. */
  locate(objectIdHex: string): Promise<ObjectLocation[]> {
    return new Promise((resolve, reject) => {
      const asked = this.#asked.get(objectIdHex);
      if (asked) asked.push({ resolve, reject });
      else this.#asked.set(objectIdHex, [{ resolve, reject }]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(() => void this.#flush(), 0);
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#asked;
    this.#asked = new Map();
    const ids = [...batch.keys()];
    for (let start = 0; start < ids.length; start += IDS_PER_REQUEST_MAX) {
      const slice = ids.slice(start, start + IDS_PER_REQUEST_MAX);
      try {
        const located = await this.#directory.locate(slice);
        for (const id of slice) for (const asked of batch.get(id)!) asked.resolve(located.get(id) ?? []);
      } catch (error) {
        for (const id of slice) for (const asked of batch.get(id)!) asked.reject(error as Error);
      }
    }
  }
}

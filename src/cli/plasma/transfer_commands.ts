/**
 * `plasma put FILE` and `plasma get ID`: a file's bytes into a new sealed object, written in place
 * in shared memory, and an object's bytes out to stdout or a file, read in place. Both show
 * progress on a terminal. A put that fails part-way aborts its object, so no half-written object stays.
 * @module
 */
import { ObjectId, type PlasmaClient } from "../../client/mod.ts";
import { CliError } from "./connect.ts";
import { Progress } from "./progress.ts";

/** Bytes moved per read or write call: large enough to run at disk speed, small enough for smooth progress. */
const TRANSFER_STEP_BYTES = 4 * 1024 * 1024;

/** Writes the file at `path` into a new object and seals it; returns the object's id. */
export async function putFile(client: PlasmaClient, path: string, options: { id?: ObjectId } = {}): Promise<ObjectId> {
  using file = await openForReading(path);
  const sizeBytes = (await file.stat()).size;
  const id = options.id ?? ObjectId.random();
  const buffer = await client.create(id, sizeBytes);
  const progress = new Progress(`put ${path}`, sizeBytes);
  try {
    let doneBytes = 0;
    while (doneBytes < sizeBytes) {
      const read = await file.read(buffer.subarray(doneBytes, Math.min(sizeBytes, doneBytes + TRANSFER_STEP_BYTES)));
      if (read === null) throw new CliError(`${path} shrank while it was read (${doneBytes} of ${sizeBytes} bytes)`);
      doneBytes += read;
      progress.update(doneBytes);
    }
    progress.finish(doneBytes);
  } catch (error) {
    await client.abort(id);
    throw error;
  }
  await client.seal(id);
  return id;
}

/**
 * Writes the object's data to `output` (a path, or stdout when undefined), waiting up to
 * `timeoutMs` for it to be sealed.
 * @returns the number of bytes written
 * @throws {CliError} when the object is not in the store in time
 */
export async function getToOutput(
  client: PlasmaClient,
  id: ObjectId,
  options: { output?: string; timeoutMs: number; socketPath: string },
): Promise<number> {
  const [object] = await client.get([id], { timeoutMs: options.timeoutMs });
  if (object === null) {
    throw new CliError(
      `object ${id} is not in the store at ${options.socketPath} (waited ${options.timeoutMs} ms for it)`,
    );
  }
  try {
    const destination = options.output === undefined ? Deno.stdout : await openForWriting(options.output);
    try {
      const progress = new Progress(`get ${id}`, object.data.length);
      for (let doneBytes = 0; doneBytes < object.data.length;) {
        doneBytes += await destination.write(object.data.subarray(doneBytes, doneBytes + TRANSFER_STEP_BYTES));
        progress.update(doneBytes);
      }
      progress.finish(object.data.length);
    } finally {
      if (destination !== Deno.stdout) destination.close();
    }
    return object.data.length;
  } finally {
    await client.release(id);
  }
}

async function openForReading(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

async function openForWriting(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (error) {
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
  }
}

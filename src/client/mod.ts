/**
 * The client of the plasma-deno object store: connect to a store over its Unix socket, create
 * objects and write them in place, seal them, and get them zero-copy from any process.
 *
 * ```ts
 * import { ObjectId, PlasmaClient } from "@plasma-deno/plasma";
 * await using client = await PlasmaClient.connect("/tmp/plasma.sock");
 * const id = ObjectId.random();
 * const buffer = await client.create(id, 5);
 * buffer.set(new TextEncoder().encode("hello"));
 * await client.seal(id);
 * const [object] = await client.get([id], { timeoutMs: 100 });
 * console.log(new TextDecoder().decode(object!.data));
 * await client.release(id);
 * ```
 * The native library must be built (`zig build`) or named by `PLASMA_NATIVE_LIB`.
 * @module
 */
export * from "./plasma_client.ts";
export * from "./errors.ts";
export { ObjectId } from "../protocol/object_id.ts";
export { GET_TIMEOUT_MS_MAX } from "../protocol/limits.ts";
export type { StoreStats } from "../protocol/messages.ts";

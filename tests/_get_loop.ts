/**
 * Test helper: keeps a store busy with get requests (of an id nobody creates, at timeout 0, so
 * they hold nothing) while something else runs, so observers can be checked against a known load.
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";

/** Runs `observe` while one client sends gets back to back; returns its result and the gets sent. */
export async function whileGetting<T>(socketPath: string, observe: () => Promise<T>): Promise<[T, number]> {
  await using client = await PlasmaClient.connect(socketPath);
  const missing = ObjectId.random();
  let done = false;
  let sent = 0;
  const loop = (async () => {
    while (!done) {
      await client.get([missing], { timeoutMs: 0 });
      sent++;
      // Yield a macrotask: the client's replies resolve as microtasks, which would otherwise keep
      // the test's own timers and subprocess pipes from ever running.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  try {
    return [await observe(), sent];
  } finally {
    done = true;
    await loop;
  }
}

/**
 * Load for the scrape benchmark: one client doing get+release of a 1 KiB object as fast as it can
 * for DURATION_MS, then printing `ops=N` (the store's request rate under test).
 * Usage: deno run -A bench/metrics_scrape_load.ts SOCKET DURATION_MS
 * @module
 */
import { PlasmaClient } from "../src/client/mod.ts";

const [socketPath, durationText] = Deno.args;
await using client = await PlasmaClient.connect(socketPath);
const id = await client.put(new Uint8Array(1024));
const deadline = performance.now() + Number(durationText);
let ops = 0;
while (performance.now() < deadline) {
  for (let batch = 0; batch < 64; batch++) {
    await client.get([id], { timeoutMs: 0 });
    await client.release(id);
  }
  ops += 64;
}
await client.delete([id]);
console.log(`ops=${ops}`);

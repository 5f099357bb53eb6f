/**
 * Takes a screenshot of the dashboard against a live store with a few objects, for a developer
 * to look at: `deno run -A tools/dashboard_screenshot.ts [OUT.png]` (default dashboard.png).
 * Starts and stops its own store (store.ts with --metrics-address on a free port).
 * @module
 */
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { startObservedStore } from "../tests/_observed_store.ts";
import { screenshot } from "./headless_chromium.ts";

const out = Deno.args[0] ?? "dashboard.png";
const store = await startObservedStore();
try {
  await using client = await PlasmaClient.connect(store.socketPath);
  // Some memory in use and objects in each state, created while the page polls so rates show.
  await client.putBatch(Array.from({ length: 20 }, (_, index) => ({ data: new Uint8Array(1000 * (index + 1)) })));
  const big = await client.put(new Uint8Array(12 * 1024 * 1024));
  await client.get([big], { timeoutMs: 0 });
  await client.create(ObjectId.random(), 3 * 1024 * 1024);
  const filling = setInterval(() => void client.put(new Uint8Array(256 * 1024)).catch(() => {}), 100);
  try {
    await screenshot(`${store.origin}/?interval_ms=250`, out);
  } finally {
    clearInterval(filling);
  }
  console.log(`dashboard screenshot: ${out}`);
} finally {
  await store.stop();
}

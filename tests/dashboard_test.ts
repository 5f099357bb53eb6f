/**
 * The dashboard page served by a live store, loaded in headless Chromium (Debian's package,
 * installed by tools/observability_deps.sh): what the page shows must match the store's stats.
 */
import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { dumpDom } from "../tools/headless_chromium.ts";
import { whileGetting } from "./_get_loop.ts";
import { startObservedStore } from "./_observed_store.ts";

/** The data-value of the element with `id` in a dumped DOM. */
function shown(dom: string, id: string): number {
  const match = new RegExp(`id="${id}"[^>]*data-value="([^"]*)"`).exec(dom);
  assert.ok(match !== null, `the page has no #${id} with a value`);
  return Number(match[1]);
}

Deno.test("the dashboard in headless Chromium shows the same figures as the store's stats", async () => {
  const store = await startObservedStore();
  try {
    await using client = await PlasmaClient.connect(store.socketPath);
    const ids = await client.putBatch([{ data: new Uint8Array(50_000) }, { data: new Uint8Array(70_000) }]);
    await client.put(new Uint8Array(2 * 1024 * 1024));
    await client.get([ids[0]], { timeoutMs: 0 });
    await client.create(ObjectId.random(), 1234);
    const stats = await client.stats();

    const dom = await dumpDom(`${store.origin}/?interval_ms=200`);
    assert.match(dom, /data-samples="\d+"/, "the page never got its data");
    assert.ok(Number(/data-samples="(\d+)"/.exec(dom)![1]) >= 2, "the page should poll repeatedly");
    assert.equal(shown(dom, "memory-capacity"), stats.capacityBytes);
    assert.equal(shown(dom, "memory-used"), stats.allocatedBytes);
    assert.equal(shown(dom, "memory-largest-free"), stats.largestFreeBlockBytes);
    assert.equal(shown(dom, "objects-total"), 4);
    assert.equal(shown(dom, "objects-sealed"), 3);
    assert.equal(shown(dom, "objects-unsealed"), 1);
    assert.equal(shown(dom, "objects-in-use"), stats.numObjectsInUse);
    assert.equal(shown(dom, "objects-evictable"), stats.numObjectsEvictable);
    assert.equal(shown(dom, "source-created_by_worker"), 4);
    assert.equal(shown(dom, "clients"), 1, "this test's client; not the page's own endpoint connection");
    assert.equal(shown(dom, "pending-gets"), 0);
    // Nothing changed while the page polled: every rate is zero.
    for (const rate of ["rate-gets", "rate-created", "rate-spilled", "rate-restored", "rate-evicted"]) {
      assert.equal(shown(dom, rate), 0, rate);
    }
    // Under a load of gets only, the get rate moves and no other does; it cannot exceed the gets
    // sent over the shortest window (one poll interval).
    const [busyDom, sent] = await whileGetting(store.socketPath, () => dumpDom(`${store.origin}/?interval_ms=200`));
    const getRate = shown(busyDom, "rate-gets");
    assert.ok(getRate > 0 && getRate <= sent / 0.2, `get rate ${getRate}/s with ${sent} gets sent`);
    for (const rate of ["rate-created", "rate-spilled", "rate-restored", "rate-evicted"]) {
      assert.equal(shown(busyDom, rate), 0, rate);
    }
    // The memory chart has one point per sample.
    const points = /id="memory-line" points="([^"]*)"/.exec(dom)![1].trim().split(" ");
    assert.equal(points.length, Number(/data-samples="(\d+)"/.exec(dom)![1]));
    assert.match(dom, /class="status">updated /);
  } finally {
    await store.stop();
  }
});

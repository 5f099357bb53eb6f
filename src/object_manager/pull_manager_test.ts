import assert from "node:assert/strict";
import type { ObjectLocation } from "../cluster/directory.ts";
import { PullManager } from "./pull_manager.ts";
import { newTransferCounters } from "./transfer_counters.ts";

const holder = (nodeId: string, sizeBytes: number): ObjectLocation => ({
  nodeId,
  address: `${nodeId}:1`,
  dataSize: sizeBytes,
  metadataSize: 0,
});

/** A transfer that finishes when the test says so. */
function gatedTransfers() {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const transfer = (id: string) =>
    new Promise<void>((resolve) => {
      started.push(id);
      finishers.set(id, resolve);
    });
  return { started, transfer, finish: (id: string) => finishers.get(id)!() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("pull admission: bytes in flight fit the store, one pull always runs, gets go before fetches", async () => {
  const gate = gatedTransfers();
  const pulls = new PullManager({
    nodeId: "me",
    capacityBytes: 100,
    counters: newTransferCounters(),
    locate: (id) => Promise.resolve([holder("peer", id === "huge" ? 500 : 60)]),
    transfer: gate.transfer,
    log: () => {},
  });
  const huge = pulls.pull("huge", "fetch"); // larger than the store: admitted alone
  await tick();
  await tick();
  const fetched = pulls.pull("fetched", "fetch");
  const got = pulls.pull("got", "get");
  await tick();
  await tick();
  assert.deepEqual(gate.started, ["huge"], "nothing else is admitted while the store's worth is in flight");
  gate.finish("huge");
  await huge;
  await tick();
  assert.deepEqual(gate.started, ["huge", "got"], "the get was admitted before the earlier fetch");
  gate.finish("got");
  await got;
  await tick();
  assert.deepEqual(gate.started, ["huge", "got", "fetched"]);
  gate.finish("fetched");
  await fetched;
});

Deno.test("a failed transfer is retried from another holder; the same object is pulled once at a time", async () => {
  const tried: string[] = [];
  const counters = newTransferCounters();
  const pulls = new PullManager({
    nodeId: "me",
    capacityBytes: 1_000,
    counters,
    locate: () => Promise.resolve([holder("a", 10), holder("b", 10), holder("me", 10)]),
    transfer: (_id, from) => {
      tried.push(from.nodeId);
      return tried.length === 1 ? Promise.reject(new Error("source died")) : Promise.resolve();
    },
    log: () => {},
  });
  const first = pulls.pull("x", "get");
  assert.equal(pulls.pull("x", "fetch"), first, "a second request joins the running pull");
  await first;
  assert.equal(tried.length, 2);
  assert.notEqual(tried[0], tried[1], "the retry went to the other holder");
  assert.ok(!tried.includes("me"), "never pulls from itself");
  assert.equal(counters.numPullsFailed, 0);
});

Deno.test("a pull with no holder fails after its deadline with an error naming the object", async () => {
  const counters = newTransferCounters();
  const logged: string[] = [];
  const pulls = new PullManager({
    nodeId: "me",
    capacityBytes: 1_000,
    counters,
    locate: () => Promise.resolve([]),
    transfer: () => Promise.reject(new Error("unreachable")),
    log: (message) => logged.push(message),
    deadlineMs: 150,
  });
  await assert.rejects(pulls.pull("abc", "get"), /Cannot pull object abc; no node holds it/);
  assert.equal(counters.numPullsFailed, 1);
  assert.equal(logged.length, 1);
});

Deno.test("a location announced by the directory wakes a waiting pull at once", async () => {
  let holders: ObjectLocation[] = [];
  const pulls = new PullManager({
    nodeId: "me",
    capacityBytes: 1_000,
    counters: newTransferCounters(),
    locate: () => Promise.resolve(holders),
    transfer: () => Promise.resolve(),
    log: () => {},
    deadlineMs: 60_000,
  });
  const pulling = pulls.pull("late", "get");
  // Back-off waits 50, 100, 200, 400 ms: at 400 ms the pull is ~350 ms from its next look.
  await new Promise((resolve) => setTimeout(resolve, 400));
  holders = [holder("a", 1)];
  const woken = performance.now();
  pulls.locationsAdded(["late"]);
  await pulling;
  assert.ok(performance.now() - woken < 200, "woken by the event, not by the back-off timer");
});

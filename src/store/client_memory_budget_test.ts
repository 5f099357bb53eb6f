import assert from "node:assert/strict";
import { budgetRefusalMessage, ClientMemoryBudget, clientMemoryBytesFor } from "./client_memory_budget.ts";
import { CLIENT_MEMORY_BYTES_DEFAULT_MIN } from "./constants.ts";

const MIB = 1024 * 1024;

Deno.test("client memory budget: one holder alone may use the whole budget", () => {
  const budget = new ClientMemoryBudget<string>(64 * MIB, 16 * MIB);
  assert.equal(budget.request("a", 64 * MIB), null);
  assert.equal(budget.heldBytes, 64 * MIB);
  assert.notEqual(budget.request("a", 64 * MIB + 1), null);
});

Deno.test("client memory budget: holders share it fairly, never below the floor, never past the total", () => {
  const budget = new ClientMemoryBudget<string>(64 * MIB, 8 * MIB);
  assert.equal(budget.request("a", 30 * MIB), null);
  // Two holders: a share is 32 MiB.
  assert.deepEqual(budget.request("b", 33 * MIB)?.shareBytes, 32 * MIB);
  assert.equal(budget.request("b", 30 * MIB), null);
  // A third may hold its floor only while the total has room (4 MiB left).
  const refusal = budget.request("c", 8 * MIB);
  assert.ok(refusal !== null);
  assert.equal(refusal.shareBytes, 21 * MIB + Math.floor(MIB / 3));
  assert.equal(refusal.heldBytes, 60 * MIB);
  assert.equal(refusal.holders, 3);
  assert.equal(budget.request("c", 4 * MIB), null);
  assert.equal(budget.heldBytes, 64 * MIB);
  assert.match(
    budgetRefusalMessage("a request of 8388608 bytes", refusal),
    /share is 21\.3 MiB .*64\.0 MiB budget, --client-memory/,
  );
});

Deno.test("client memory budget: memory given back is forgotten, shrinking is always granted", () => {
  const budget = new ClientMemoryBudget<string>(64 * MIB, 8 * MIB);
  assert.equal(budget.request("a", 40 * MIB), null);
  assert.equal(budget.request("b", 20 * MIB), null);
  assert.equal(budget.request("a", 10 * MIB), null);
  assert.equal(budget.heldBytes, 30 * MIB);
  budget.set("a", 0);
  budget.set("b", 0);
  assert.equal(budget.heldBytes, 0);
  assert.equal(budget.holders, 0);
  assert.throws(() => budget.set("a", -1), RangeError);
});

Deno.test("client memory budget: the default fits two of the largest requests, and never less than the minimum", () => {
  assert.equal(clientMemoryBytesFor(undefined, 16 * MIB), CLIENT_MEMORY_BYTES_DEFAULT_MIN);
  assert.equal(clientMemoryBytesFor(0, 1024 * MIB), 2048 * MIB);
  assert.equal(clientMemoryBytesFor(5 * MIB, 1024 * MIB), 5 * MIB);
  assert.throws(() => new ClientMemoryBudget(MIB, 2 * MIB), RangeError);
});

import assert from "node:assert/strict";
import { ServiceQueue } from "./fair_service.ts";

Deno.test("a service round serves each queued connection once, in turn, and keeps those with work left", () => {
  const queue = new ServiceQueue<string>();
  const work = new Map([["flood", 5], ["polite", 1], ["other", 2]]);
  for (const name of work.keys()) queue.add(name);
  queue.add("flood"); // queued once only
  const served: string[] = [];
  const serve = (name: string) => {
    served.push(name);
    work.set(name, work.get(name)! - 1);
    return work.get(name)! > 0;
  };
  assert.equal(queue.serveRound(serve), true);
  assert.deepEqual(served, ["flood", "polite", "other"]);
  assert.equal(queue.serveRound(serve), true);
  assert.deepEqual(served.slice(3), ["flood", "other"]);
  while (queue.serveRound(serve));
  assert.equal(queue.size, 0);
  assert.equal(served.filter((name) => name === "flood").length, 5);
});

Deno.test("work that arrives during a round is looked for between slices, and an item that leaves is reported", () => {
  const left: string[] = [];
  const queue = new ServiceQueue<string>((name) => left.push(name));
  const work = new Map([["a", 2], ["b", 1], ["c", 2]]);
  for (const name of work.keys()) queue.add(name);
  const trace: string[] = [];
  const serve = (name: string) => {
    trace.push(name);
    work.set(name, work.get(name)! - 1);
    return work.get(name)! > 0;
  };
  // "new" arrives after the first slice: it is queued behind the round and served in the next.
  // New work is looked for between two slices, not after the last (the loop's next turn does).
  const between = () => {
    trace.push("poll");
    if (!queue.has("new") && !work.has("new")) queue.add("new");
  };
  assert.equal(queue.serveRound(serve, between), true);
  work.set("new", 1);
  assert.deepEqual(trace, ["a", "poll", "b", "poll", "c"]);
  assert.deepEqual(left, ["b"]);
  assert.equal(queue.serveRound(serve), false);
  assert.deepEqual(trace.slice(5), ["a", "c", "new"]);
  assert.deepEqual(left, ["b", "a", "c", "new"]);
});

Deno.test("an item removed during a round (its client closed) is not served later in that round", () => {
  const queue = new ServiceQueue<string>();
  for (const name of ["a", "b"]) queue.add(name);
  const served: string[] = [];
  queue.serveRound((name) => (served.push(name), queue.delete("b"), true));
  assert.deepEqual(served, ["a"]);
  assert.equal(queue.size, 1);
});

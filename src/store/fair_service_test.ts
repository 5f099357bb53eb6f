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

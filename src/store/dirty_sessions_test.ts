/** DirtySessions: each session flushed once per dispatch, those listed during the flush included. */
import assert from "node:assert/strict";
import { DirtySessions } from "./client_session.ts";

Deno.test("dirty sessions: listed once however often they queue output, flushed once, then listable again", () => {
  const dirty = new DirtySessions<{ name: string; dirty: boolean }>();
  const a = { name: "a", dirty: false }, b = { name: "b", dirty: false };
  dirty.add(a);
  dirty.add(b);
  dirty.add(a);
  const flushed: string[] = [];
  dirty.flushEach((session) => flushed.push(session.name));
  assert.deepEqual(flushed, ["a", "b"]);
  assert.equal(a.dirty || b.dirty, false);
  dirty.add(b);
  dirty.flushEach((session) => flushed.push(session.name));
  assert.deepEqual(flushed, ["a", "b", "b"]);
});

Deno.test("dirty sessions: a session listed while the list is being flushed is flushed in the same pass", () => {
  const dirty = new DirtySessions<{ name: string; dirty: boolean }>();
  const a = { name: "a", dirty: false }, b = { name: "b", dirty: false };
  dirty.add(a);
  const flushed: string[] = [];
  dirty.flushEach((session) => {
    flushed.push(session.name);
    if (session === a) dirty.add(b); // flushing a answered a get of b's, say
  });
  assert.deepEqual(flushed, ["a", "b"]);
  dirty.flushEach((session) => flushed.push(session.name));
  assert.deepEqual(flushed, ["a", "b"], "the list is empty after the pass");
});

import assert from "node:assert/strict";
import { ReceivingObject } from "./receiving_object.ts";

const sizes = { dataSize: 10, metadataSize: 2 };

Deno.test("a relay is lent only the bytes that arrived, and waits for more", async () => {
  const target = new Uint8Array(12).map((_, index) => index);
  const receiving = new ReceivingObject(target, sizes);
  const waiting = receiving.lend(0, 8, () => {});
  receiving.progress(5);
  const first = await waiting;
  assert.ok(first !== "sealed");
  assert.deepEqual([...first.view], [0, 1, 2, 3, 4]);
  first.done();
  receiving.progress(7);
  const second = await receiving.lend(5, 4, () => {});
  assert.ok(second !== "sealed");
  assert.deepEqual([...second.view], [5, 6, 7, 8]);
  second.done();
});

Deno.test("retire waits for lent views to be returned; lenders then see sealed", async () => {
  const receiving = new ReceivingObject(new Uint8Array(12), sizes);
  receiving.progress(12);
  const lent = await receiving.lend(0, 12, () => {});
  assert.ok(lent !== "sealed");
  let retired = false;
  const retiring = receiving.retire().then(() => (retired = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(retired, false, "retire waited for the lent view");
  const afterwards = receiving.lend(12, 4, () => {});
  lent.done();
  await retiring;
  receiving.sealed();
  assert.equal(await afterwards, "sealed");
});

Deno.test("a failed receive rejects waiting relays with its error", async () => {
  const receiving = new ReceivingObject(new Uint8Array(12), sizes);
  const waiting = receiving.lend(0, 4, () => {});
  await receiving.fail(new Error("source died"));
  await assert.rejects(waiting, /source died/);
  assert.throws(() => new ReceivingObject(new Uint8Array(3), sizes), RangeError);
  assert.throws(() => new ReceivingObject(new Uint8Array(12), sizes).progress(13), RangeError);
});

Deno.test("a relay that stops returning its view is cut after the stall limit, so the seal is not held up", async () => {
  const receiving = new ReceivingObject(new Uint8Array(12), sizes, 30);
  receiving.progress(12);
  let cut = 0;
  let giveBack = () => {};
  const lent = await receiving.lend(0, 12, () => {
    cut++;
    giveBack(); // closing the relay's connection fails its pending write, which returns the view
  });
  assert.ok(lent !== "sealed");
  giveBack = lent.done;
  await receiving.retire();
  assert.equal(cut, 1);
});

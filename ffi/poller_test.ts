import assert from "node:assert/strict";
import { FrameConnection } from "./frame_connection.ts";
import { EVENT_HANGUP, EVENT_READABLE, Poller } from "./poller.ts";
import { Status } from "./status.ts";
import { socketPair } from "./unix_socket.ts";

Deno.test("poll reports a readable connection with its token, and a hangup", async () => {
  const poller = new Poller();
  const [a, b] = socketPair();
  const writer = FrameConnection.adopt(a);
  using reader = FrameConnection.adopt(b);
  try {
    poller.add(reader.fd, 7);
    assert.equal(poller.poll(), 0);
    assert.equal(writer.write(1n, 1, new Uint8Array(4)), Status.ok);
    assert.equal(poller.poll(), 1);
    assert.deepEqual([poller.events[0], poller.events[1] & EVENT_READABLE], [7, EVENT_READABLE]);
    writer.close();
    assert.equal(poller.poll(), 1);
    assert.equal(poller.events[1] & EVENT_HANGUP, EVENT_HANGUP);
  } finally {
    await poller.close();
  }
});

Deno.test("a blocking wait runs off the JS thread: timers fire meanwhile and wake() ends it", async () => {
  const poller = new Poller();
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const waiting = poller.waitAsync(-1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    clearInterval(timer);
    assert.ok(ticks >= 3, `timer fired ${ticks} times during the wait`);
    poller.wake();
    assert.equal(await waiting, 0);
  } finally {
    await poller.close();
  }
});

Deno.test("closing a poller with a wait in progress wakes the wait first", async () => {
  const poller = new Poller();
  const waiting = poller.waitAsync(-1);
  await poller.close();
  assert.equal(await waiting, 0);
  await poller.close();
});

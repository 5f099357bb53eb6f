import assert from "node:assert/strict";
import { FrameConnection } from "../../ffi/frame_connection.ts";
import { Poller } from "../../ffi/poller.ts";
import { Status } from "../../ffi/status.ts";
import { socketPair } from "../../ffi/unix_socket.ts";
import { EventLoop, type EventLoopOptions } from "./event_loop.ts";

/** Each waiting strategy, with and without a bounded blocking wait on the loop's thread. */
const WAIT_CASES: EventLoopOptions[] = [
  {},
  { strategy: "block", blockMs: 0 },
  { strategy: "block", blockMs: 2 },
  { strategy: "pressure", spinMicros: 50, blockMs: 2 },
  { strategy: "adaptive", spinMicros: 50, blockMs: 2 },
];

/** CPU seconds (user + system) this JS thread has used, from /proc (other test threads excluded). */
function cpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/thread-self/stat").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Timer ticks that must run while the loop idles. */
const IDLE_TICKS = 20;
/** Far beyond IDLE_TICKS x 10 ms on any load: only a loop that blocks timers gets here. */
const HANG_GUARD_MS = 30_000;

for (const options of WAIT_CASES) {
  Deno.test(`the loop (${JSON.stringify(options)}) answers frames, then idles without burning CPU while timers keep running`, async () => {
    await answersThenIdles(options);
  });
}

async function answersThenIdles(options: EventLoopOptions): Promise<void> {
  const poller = new Poller();
  const [a, b] = socketPair();
  const client = FrameConnection.adopt(a);
  const server = FrameConnection.adopt(b);
  const loop = new EventLoop(poller, () => {
    while (server.read(0) === Status.ok) server.write(1n, server.type + 1, server.payload());
  }, options);
  poller.add(server.fd, 1);
  const running = loop.start();
  try {
    // Requests from a Worker-free client on this same thread would deadlock a blocking read,
    // so the client side polls with short waits while the loop runs between them.
    for (let round = 0; round < 20; round++) {
      assert.equal(client.write(1n, round, new Uint8Array([round])), Status.ok);
      let status = client.read(0);
      while (status === Status.would_block) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        status = client.read(0);
      }
      assert.equal(status, Status.ok);
      assert.equal(client.type, round + 1);
    }
    // Count, not time: 20 ticks of a 10 ms timer must happen while the loop idles (a loop that
    // blocked the thread would never let them); a hang guard turns "never" into a failure.
    let timer: ReturnType<typeof setInterval> | undefined;
    let guard: ReturnType<typeof setTimeout> | undefined;
    const cpuBefore = cpuSeconds();
    const wallBefore = performance.now();
    await new Promise<void>((resolve, reject) => {
      let ticks = 0;
      timer = setInterval(() => ++ticks === IDLE_TICKS && resolve(), 10);
      guard = setTimeout(() => reject(new Error(`timers stopped while idle (${ticks} ticks)`)), HANG_GUARD_MS);
    }).finally(() => {
      clearInterval(timer);
      clearTimeout(guard);
    });
    const cpuShare = (cpuSeconds() - cpuBefore) / ((performance.now() - wallBefore) / 1000);
    // A loop that kept spinning would use a whole core (~1.0) here.
    assert.ok(cpuShare < 0.3, `idle loop used ${(cpuShare * 100).toFixed(0)}% of a core`);
    assert.ok(loop.counters.blockingWaits > 0);
  } finally {
    await loop.stop();
    await running;
    await poller.close();
    client.close();
    server.close();
  }
}

Deno.test("stop() ends a loop that is blocked in its wait", async () => {
  const poller = new Poller();
  const loop = new EventLoop(poller, () => {});
  const running = loop.start();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await loop.stop();
  await running;
  await poller.close();
  assert.ok(loop.counters.blockingWaits >= 1);
});

Deno.test("Worker messages reach a thread whose loop is blocked waiting", async () => {
  const poller = new Poller();
  const loop = new EventLoop(poller, () => {});
  const running = loop.start();
  const source = `let n = 0; const t = setInterval(() => { postMessage(n++); if (n === 5) clearInterval(t); }, 5);`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const received: number[] = [];
    await new Promise<void>((resolve) => {
      worker.onmessage = (event) => {
        received.push(event.data);
        if (received.length === 5) resolve();
      };
    });
    assert.deepEqual(received, [0, 1, 2, 3, 4]);
    assert.ok(loop.counters.blockingWaits >= 1, "the loop was blocked in its native wait meanwhile");
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
    await loop.stop();
    await running;
    await poller.close();
  }
});

Deno.test("a loop that blocks on its own thread counts those waits and still sleeps when idle", async () => {
  const poller = new Poller();
  const loop = new EventLoop(poller, () => {}, { strategy: "block", blockMs: 1 });
  const running = loop.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(loop.counters.syncBlocks >= 1, `blocked on its thread ${loop.counters.syncBlocks} times`);
    assert.ok(loop.counters.blockingWaits >= 1, "then went to the awaited wait");
  } finally {
    await loop.stop();
    await running;
    await poller.close();
  }
});

Deno.test("a loop awaiting another thread's answer never blocks its own thread, so the answer's message can run", async () => {
  const poller = new Poller();
  let awaiting = true;
  const loop = new EventLoop(poller, () => {}, { strategy: "block", blockMs: 1, awaiting: () => awaiting });
  const running = loop.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(loop.counters.syncBlocks, 0, "no bounded block while an answer is awaited");
    assert.ok(loop.counters.blockingWaits >= 1, "it waited awaited instead");
    awaiting = false;
    poller.wake(); // one turn, then the loop idles the usual way
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(loop.counters.syncBlocks >= 1, "nothing awaited: the bounded block is back");
  } finally {
    await loop.stop();
    await running;
    await poller.close();
  }
});

/** Resolves once `condition` holds (checked every 5 ms); fails after HANG_GUARD_MS. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + HANG_GUARD_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition never held");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("the idle hook runs each time the loop goes to sleep, before it waits", async () => {
  const poller = new Poller();
  let idleCalls = 0;
  let waitsAtIdle = -1;
  const loop = new EventLoop(poller, () => {}, {
    strategy: "block",
    blockMs: 1,
    idle: () => {
      idleCalls++;
      waitsAtIdle = loop.counters.blockingWaits;
    },
  });
  const running = loop.start();
  try {
    await until(() => idleCalls >= 1);
    assert.equal(idleCalls, 1, "one sleep so far");
    assert.equal(waitsAtIdle, loop.counters.blockingWaits, "called as the wait began");
    poller.wake(); // an event: the loop serves it, then sleeps again
    await until(() => idleCalls >= 2);
    assert.equal(idleCalls, 2);
    assert.equal(idleCalls, loop.counters.blockingWaits, "once per sleep");
  } finally {
    await loop.stop();
    await running;
    await poller.close();
  }
});

Deno.test("an unknown strategy or a negative spin is refused with RangeError", () => {
  const poller = new Poller();
  try {
    assert.throws(() => new EventLoop(poller, () => {}, { strategy: "nap" as "spin" }), RangeError);
    assert.throws(() => new EventLoop(poller, () => {}, { spinMicros: -1 }), RangeError);
    assert.throws(() => new EventLoop(poller, () => {}, { blockMs: Number.NaN }), RangeError);
  } finally {
    void poller.close();
  }
});

for (const options of WAIT_CASES) {
  Deno.test(`the loop (${JSON.stringify(options)}) runs a left-over backlog to the end with no new events`, async () => {
    const poller = new Poller();
    let slicesLeft = 50;
    let loop: EventLoop | undefined;
    const finished = new Promise<void>((resolve) => {
      loop = new EventLoop(poller, () => {}, {
        ...options,
        backlog: () => {
          if (slicesLeft === 0) return false;
          slicesLeft--;
          if (slicesLeft === 0) resolve();
          return slicesLeft > 0;
        },
      });
    });
    const running = loop!.start();
    // No fd is watched: only the backlog can make progress, and a loop that slept with work
    // left would never finish it (the hang guard turns that into a failure).
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        finished,
        new Promise((_, reject) => guard = setTimeout(() => reject(new Error("backlog left unserved")), HANG_GUARD_MS)),
      ]);
      assert.equal(slicesLeft, 0);
    } finally {
      clearTimeout(guard);
      await loop!.stop();
      await running;
      poller.close();
    }
  });
}

Deno.test("an event that comes while the backlog is served is dispatched by pollNow, before the backlog's round ends", async () => {
  const poller = new Poller();
  const [a, b] = socketPair();
  const client = FrameConnection.adopt(a);
  const server = FrameConnection.adopt(b);
  poller.add(server.fd, 7);
  const order: string[] = [];
  let piecesLeft = 4;
  let loop: EventLoop | undefined;
  const finished = new Promise<void>((resolve) => {
    loop = new EventLoop(poller, (token) => {
      order.push(`event ${token}`);
      while (server.read(0) === Status.ok); // consume it, so it is reported once
    }, {
      backlog: (pollNow) => {
        // One round of two pieces; the request arrives during the first piece.
        for (let piece = 0; piece < 2 && piecesLeft > 0; piece++, piecesLeft--) {
          if (piecesLeft === 4) assert.equal(client.write(1n, 1, new Uint8Array([1])), Status.ok);
          order.push(`piece ${4 - piecesLeft}`);
          pollNow();
        }
        if (piecesLeft === 0) resolve();
        return piecesLeft > 0;
      },
    });
  });
  const running = loop!.start();
  try {
    await finished;
    // Without pollNow the event would wait for the round's end, after "piece 1".
    assert.deepEqual(order, ["piece 0", "event 7", "piece 1", "piece 2", "piece 3"]);
  } finally {
    await loop!.stop();
    await running;
    poller.close();
    client.close();
    server.close();
  }
});

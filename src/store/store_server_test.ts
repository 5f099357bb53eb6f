/**
 * Containment: an error thrown while serving one connection closes that connection only, is
 * logged with its stack and counted, and the store keeps serving everyone else. The thrower is a
 * buggy event subscriber (a real path: the store calls it inside the seal handler).
 */
import assert from "node:assert/strict";
import { ObjectId } from "../client/mod.ts";
import type { StoreEvent } from "./store_events.ts";
import { HEAP_TRIM_QUIET_MS } from "./idle_heap_trim.ts";
import { StoreServer } from "./store_server.ts";

const MIB = 1024 * 1024;
const CLIENT = new URL("./_contain_client.ts", import.meta.url).pathname;

/** Runs a client process (the store runs on this thread, so its clients cannot). */
async function runClient(socketPath: string, idHex = ""): Promise<Record<string, unknown>> {
  const args = ["run", "-A", CLIENT, socketPath, ...(idHex ? [idHex] : [])];
  const { stdout, stderr, success } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** An 8 MiB store serving a socket in `directory`, on this thread. */
function smallServer(directory: string, events: ((event: StoreEvent) => void) | null = null): StoreServer {
  return new StoreServer({
    socketPath: `${directory}/store.sock`,
    capacityBytes: 8 * MIB,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: 0,
  }, events);
}

Deno.test("store server: a handler that throws closes only that client, logged with its stack and counted", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-contain-" });
  const poisoned = ObjectId.random();
  const throwOnSealOf = (event: StoreEvent) => {
    if (event.type === "objectAdded" && event.objectIdHex === poisoned.toHex()) {
      throw new Error("subscriber bug planted by the test");
    }
  };
  const server = smallServer(directory, throwOnSealOf);
  const lines: string[] = [];
  const consoleError = console.error;
  console.error = (...parts: unknown[]) => lines.push(parts.join(" "));
  const running = server.start();
  try {
    const victim = await runClient(server.socketPath, poisoned.toHex());
    assert.equal(victim.error, "ConnectionClosedError", JSON.stringify(victim));
    const bystander = await runClient(server.socketPath);
    assert.deepEqual(bystander, { readBack: [1, 2, 3], numServeErrors: 1, numClients: 1 }, "the others are served");
    const logged = lines.filter((line) => line.includes("serving it threw"));
    assert.equal(logged.length, 1, lines.join("\n"));
    assert.match(logged[0], /subscriber bug planted by the test\n\s+at /, "the line carries the stack");
  } finally {
    console.error = consoleError;
    await server.stop();
    await running;
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("store server: once quiet after serving a client, it releases memory", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-heap-trim-" });
  const server = smallServer(directory);
  const running = server.start();
  try {
    assert.equal(server.heapTrims, 0, "nothing served yet");
    await runClient(server.socketPath);
    const deadline = performance.now() + 10 * HEAP_TRIM_QUIET_MS;
    while (server.heapTrims === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(server.heapTrims >= 1, "released after the client went away");
  } finally {
    await server.stop();
    await running;
    await Deno.remove(directory, { recursive: true });
  }
});

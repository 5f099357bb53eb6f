import assert from "node:assert/strict";
import { RedisFixture } from "../../tests/_redis_fixture.ts";
import { NODE_TTL_MS } from "./constants.ts";
import type { DirectoryEvent } from "./directory.ts";
import { RedisDirectory } from "./redis_directory.ts";

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("the Redis directory publishes, locates, withdraws and announces locations", async () => {
  const redis = await RedisFixture.start();
  const a = await RedisDirectory.connect(redis.url);
  const b = await RedisDirectory.connect(redis.url);
  try {
    await a.join({ nodeId: "a", address: "127.0.0.1:1" });
    await b.join({ nodeId: "b", address: "127.0.0.1:2" });
    const seen: DirectoryEvent[] = [];
    b.onEvent((event) => seen.push(event));
    await a.publish([{ objectIdHex: "01", dataSize: 10, metadataSize: 0 }, {
      objectIdHex: "02",
      dataSize: 20,
      metadataSize: 2,
    }]);
    await b.publish([{ objectIdHex: "01", dataSize: 10, metadataSize: 0 }]);
    const located = await b.locate(["01", "02", "03"]);
    assert.deepEqual(located.get("01")!.map((l) => l.nodeId).sort(), ["a", "b"]);
    assert.deepEqual(located.get("02"), [{ nodeId: "a", address: "127.0.0.1:1", dataSize: 20, metadataSize: 2 }]);
    assert.deepEqual(located.get("03"), []);
    await a.withdraw(["01"]);
    assert.deepEqual((await b.locate(["01"])).get("01")!.map((l) => l.nodeId), ["b"]);
    await waitFor(() => seen.some((e) => e.type === "removed"), 3_000, "the removal event");
    assert.deepEqual(seen.find((e) => e.type === "added" && e.nodeId === "a"), {
      type: "added",
      nodeId: "a",
      objectIdsHex: ["01", "02"],
    });
    assert.deepEqual((await a.nodes()).map((n) => n.nodeId).sort(), ["a", "b"]);
  } finally {
    await a.leave();
    await b.leave();
    await redis.stop();
  }
});

Deno.test("a node that stops heartbeating is removed with its locations", async () => {
  const redis = await RedisFixture.start();
  const survivor = await RedisDirectory.connect(redis.url);
  const doomed = await RedisDirectory.connect(redis.url);
  try {
    await survivor.join({ nodeId: "survivor", address: "127.0.0.1:1" });
    await doomed.join({ nodeId: "doomed", address: "127.0.0.1:2" });
    await doomed.publish([{ objectIdHex: "aa", dataSize: 1, metadataSize: 0 }]);
    const gone: DirectoryEvent[] = [];
    survivor.onEvent((event) => event.type === "nodeGone" && gone.push(event));
    await doomed.abandon(); // heartbeats stop, nothing is withdrawn: what a SIGKILL leaves behind

    await waitFor(async () => (await survivor.locate(["aa"])).get("aa")!.length === 0, NODE_TTL_MS * 3, "reaping");
    assert.deepEqual((await survivor.nodes()).map((n) => n.nodeId), ["survivor"]);
    await waitFor(() => gone.length === 1, 3_000, "the nodeGone event");
    assert.deepEqual(gone, [{ type: "nodeGone", nodeId: "doomed" }]);
  } finally {
    await survivor.leave();
    await redis.stop();
  }
});

Deno.test("after Redis restarts empty, nodes republish and followers are told to resync", async () => {
  const redis = await RedisFixture.start();
  const directory = await RedisDirectory.connect(redis.url);
  try {
    await directory.join({ nodeId: "n", address: "127.0.0.1:1" });
    let republished = 0;
    const events: string[] = [];
    directory.onReconnect(() => {
      republished++;
      // Redis may drop again meanwhile; the next reconnect republishes.
      directory.publish([{ objectIdHex: "bb", dataSize: 5, metadataSize: 0 }]).catch(() => {});
    });
    directory.onEvent((event) => events.push(event.type));
    await directory.publish([{ objectIdHex: "bb", dataSize: 5, metadataSize: 0 }]);
    await redis.kill();
    await redis.restart();
    await waitFor(
      async () => {
        try {
          return (await directory.locate(["bb"])).get("bb")!.length === 1;
        } catch {
          return false;
        }
      },
      10_000,
      "republishing",
    );
    assert.ok(republished >= 1, "the node republished");
    assert.ok(events.includes("resync"), `followers were told to resync, saw ${events}`);
  } finally {
    await directory.leave();
    await redis.stop();
  }
});

/**
 * Client-side answers to careless use: a closed client, a batch too large for one request, and a
 * get timeout too long for a timer, each against a real store (its own Worker, real sockets).
 */
import assert from "node:assert/strict";
import { ConnectionClosedError, GET_TIMEOUT_MS_MAX, ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { REPO, withStore } from "./_store_fixture.ts";

const MIB = 1024 * 1024;
const PYTHON = `${REPO}.venv/bin/python`;

Deno.test("every call on a closed client throws ConnectionClosedError", async () => {
  await withStore(async ({ socketPath }) => {
    const client = await PlasmaClient.connect(socketPath);
    const id = await client.put(new Uint8Array([1]));
    client.close();
    const calls: [string, () => Promise<unknown>][] = [
      ["create", () => client.create(ObjectId.random(), 1)],
      ["seal", () => client.seal(id)],
      ["get", () => client.get([id], { timeoutMs: 0 })],
      ["release", () => client.release(id)],
      ["delete", () => client.delete([id])],
      ["contains", () => client.contains(id)],
      ["abort", () => client.abort(id)],
      ["put", () => client.put(new Uint8Array(1))],
      ["putBatch", () => client.putBatch([{ data: new Uint8Array(1) }])],
      ["list", () => client.list()],
      ["stats", () => client.stats()],
      ["debugString", () => client.debugString()],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call, ConnectionClosedError, `${name} on a closed client`);
    }
  });
});

Deno.test("a putBatch larger than one request fails with a RangeError before sending; the client goes on", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const items = [{ data: new Uint8Array(40 * MIB) }, { data: new Uint8Array(40 * MIB) }];
    await assert.rejects(() => client.putBatch(items), (error: Error) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /putBatch of 2 objects .* at most \d+ bytes per request/);
      return true;
    });
    assert.equal((await client.putBatch([{ data: new Uint8Array(40 * MIB) }])).length, 1);
    assert.equal((await client.stats()).numObjects, 1);
  }, { memoryBytes: 64 * MIB });
});

Deno.test("a get with a timeout of 2^31 ms or more waits for the object instead of answering missing", async () => {
  await withStore(async ({ socketPath }) => {
    await using getter = await PlasmaClient.connect(socketPath);
    await using putter = await PlasmaClient.connect(socketPath);
    for (const timeoutMs of [2 ** 31, GET_TIMEOUT_MS_MAX + 1, Number.MAX_SAFE_INTEGER]) {
      const id = ObjectId.random();
      let settled = false;
      const got = getter.get([id], { timeoutMs }).finally(() => settled = true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(settled, false, `a get with timeout ${timeoutMs} answered before the object existed`);
      await putter.put(new Uint8Array([7]), { id });
      const [object] = await got;
      assert.deepEqual(object?.data, new Uint8Array([7]));
      await getter.release(id);
    }
    assert.throws(() => getter.get([ObjectId.random()], { timeoutMs: 2 ** 53 }), RangeError);
  });
});

Deno.test("a pyarrow get with a timeout of 2^31 ms waits for the object", async () => {
  await withStore(async ({ socketPath }) => {
    const id = ObjectId.fromBytes(crypto.getRandomValues(new Uint8Array(20)));
    const script = "import sys, warnings; warnings.simplefilter('ignore'); import pyarrow.plasma as p; " +
      "c = p.connect(sys.argv[1]); [b] = c.get_buffers([p.ObjectID(bytes.fromhex(sys.argv[2]))], " +
      "timeout_ms=2**31); print('missing' if b is None else bytes(b).hex())";
    const child = new Deno.Command(PYTHON, { args: ["-c", script, socketPath, id.toHex()], stdout: "piped" }).spawn();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await using putter = await PlasmaClient.connect(socketPath);
    await putter.put(new Uint8Array([0xab]), { id });
    const { stdout } = await child.output();
    assert.equal(new TextDecoder().decode(stdout).trim(), "ab");
  });
});

/**
 * The metrics endpoint of a live store process: Prometheus text checked by promtool (Debian's
 * `prometheus` package, installed by tools/observability_deps.sh), values equal to the store's
 * stats, /healthz, and the flag on both launchers.
 */
import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { REPO } from "./_store_fixture.ts";
import { startObservedStore } from "./_observed_store.ts";

/** Sample values by `name{labels}` from exposition text. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return { code: output.code, output: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

Deno.test("/metrics passes promtool check metrics and reports the store's stats", async () => {
  const store = await startObservedStore();
  try {
    await using client = await PlasmaClient.connect(store.socketPath);
    const kept = await client.put(new Uint8Array(100_000));
    await client.put(new Uint8Array(300_000));
    const [held] = await client.get([kept], { timeoutMs: 0 });
    assert.ok(held !== null);
    await client.create(ObjectId.random(), 5_000);
    assert.deepEqual(await client.get([ObjectId.random(), ObjectId.random()], { timeoutMs: 0 }), [null, null]);

    const response = await fetch(`${store.origin}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const lint = await promtoolCheck(text);
    assert.equal(lint.code, 0, `promtool: ${lint.output}`);
    assert.equal(lint.output.trim(), "", `promtool found problems: ${lint.output}`);

    const stats = await client.stats();
    const values = samples(text);
    assert.equal(values.get("plasma_memory_capacity_bytes"), stats.capacityBytes);
    assert.equal(values.get("plasma_memory_allocated_bytes"), stats.allocatedBytes);
    assert.equal(values.get('plasma_objects{state="sealed"}'), 2);
    assert.equal(values.get('plasma_objects{state="unsealed"}'), 1);
    assert.equal(values.get('plasma_objects_size_bytes{state="sealed"}'), 400_000);
    assert.equal(values.get('plasma_source_objects{source="created_by_worker"}'), 3);
    assert.equal(values.get("plasma_referenced_objects"), 2); // the got object and the unsealed one
    assert.equal(values.get("plasma_evictable_objects"), 1);
    assert.equal(values.get("plasma_created_bytes_total"), 405_000);
    assert.equal(values.get("plasma_created_objects_total"), 3);
    assert.equal(values.get("plasma_get_requests_total"), 2, "two get requests, three ids in all");
    assert.equal(values.get("plasma_clients"), 1, "the endpoint's own connection is not a client");
    assert.ok(values.get("plasma_stats_read_duration_seconds")! > 0);
    await client.release(kept);
  } finally {
    await store.stop();
  }
});

Deno.test("/healthz answers ok, unknown paths 404, other methods 405; a store stop ends cleanly", async () => {
  const store = await startObservedStore();
  let stopped = false;
  try {
    const health = await fetch(`${store.origin}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");
    const missing = await fetch(`${store.origin}/nothing-here`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const posted = await fetch(`${store.origin}/metrics`, { method: "POST", body: "x" });
    assert.equal(posted.status, 405);
    await posted.body?.cancel();
    const { code, output } = await store.stop();
    stopped = true;
    assert.equal(code, 0, output);
    await assert.rejects(fetch(`${store.origin}/healthz`), TypeError);
  } finally {
    if (!stopped) await store.stop();
  }
});

Deno.test("bin/plasma-store-server takes --metrics-address too", async () => {
  const store = await startObservedStore("plasma-store-server");
  try {
    const text = await (await fetch(`${store.origin}/metrics`)).text();
    assert.equal(samples(text).get("plasma_memory_capacity_bytes"), 64 * 1024 * 1024);
  } finally {
    await store.stop();
  }
});

Deno.test("a bad --metrics-address is refused with one line naming the flag", async () => {
  for (
    const [command, args, exitCode] of [
      [Deno.execPath(), ["run", "-A", `${REPO}store.ts`, "--socket", "/tmp/unused.sock", "--memory", "16MiB"], 2],
      [`${REPO}bin/plasma-store-server`, ["-s", "/tmp/unused.sock", "-m", "16000000"], 1],
    ] as [string, string[], number][]
  ) {
    for (const address of ["localhost", "127.0.0.1:99999", ":80", "a b:1"]) {
      const output = await new Deno.Command(command, { args: [...args, "--metrics-address", address] }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, exitCode, `${address}: ${stderr}`);
      assert.match(stderr, /--metrics-address takes HOST:PORT/);
    }
  }
});

Deno.test("a metrics address already in use stops the store at start-up with exit 1, naming the address", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const directory = await Deno.makeTempDir({ prefix: "plasma-metrics-" });
  try {
    const address = `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${REPO}store.ts`,
        "--socket",
        `${directory}/s.sock`,
        "--memory",
        "16MiB",
        "--metrics-address",
        address,
      ],
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
    assert.match(stderr, new RegExp(`cannot serve metrics on ${address}: .*(in use|AddrInUse)`, "i"));
    await assert.rejects(Deno.stat(`${directory}/s.sock`), Deno.errors.NotFound, "the store's socket is removed again");
  } finally {
    taken.close();
    await Deno.remove(directory, { recursive: true });
  }
});

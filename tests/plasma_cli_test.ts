/**
 * The `plasma` command-line tool as an operator uses it: real processes against live stores of
 * both kinds (store.ts and bin/plasma-store-server), output checked against the store's stats.
 */
import assert from "node:assert/strict";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { whileGetting } from "./_get_loop.ts";
import { outputOf, readUntil, REPO, spawnStore } from "./_store_fixture.ts";

const PLASMA = `${REPO}bin/plasma`;
const MIB = 1024 * 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  bytes: Uint8Array;
}

async function plasma(...args: string[]): Promise<Run> {
  const output = await new Deno.Command(PLASMA, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    bytes: output.stdout,
  };
}

async function ok(...args: string[]): Promise<string> {
  const run = await plasma(...args);
  assert.equal(run.code, 0, `plasma ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** A file of `sizeBytes` pseudo-random bytes from `seed` (printed, so a failure can be replayed). */
async function randomFile(directory: string, name: string, sizeBytes: number, seed: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(sizeBytes);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < sizeBytes; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  await Deno.writeFile(`${directory}/${name}`, bytes);
  return bytes;
}

Deno.test("plasma put then get round-trips a file through the store, to a file and to stdout, quietly when piped", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    const seed = Date.now() % 100_000;
    console.log(`seed ${seed}`);
    const original = await randomFile(store.directory, "in.bin", 9 * MIB + 123, seed);
    const put = await plasma("put", `${store.directory}/in.bin`, "--socket", store.socketPath);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stderr, "", "progress must not be printed when stderr is not a terminal");
    const hex = put.stdout.trim();
    assert.match(hex, /^[0-9a-f]{40}$/);

    await ok("get", hex, "-s", store.socketPath, "--output", `${store.directory}/out.bin`);
    assert.deepEqual(await Deno.readFile(`${store.directory}/out.bin`), original);
    const toStdout = await plasma("get", hex, "-s", store.socketPath);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.equal(toStdout.stderr, "");
    assert.deepEqual(toStdout.bytes, original);

    const chosen = "00112233445566778899aabbccddeeff00112233";
    assert.equal((await ok("put", `${store.directory}/in.bin`, "-s", store.socketPath, "--id", chosen)).trim(), chosen);
    const taken = await plasma("put", `${store.directory}/in.bin`, "-s", store.socketPath, "--id", chosen);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /Cannot create object 00112233.*ObjectExists|exists/i);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma put shows progress on a terminal (a pty), redrawn in place and ended with a newline", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    await randomFile(store.directory, "big.bin", 32 * MIB, 7);
    // `script` runs the command on a pseudo-terminal, as an operator's shell would.
    const command = `${PLASMA} put ${store.directory}/big.bin --socket ${store.socketPath} >/dev/null`;
    const output = await new Deno.Command("script", { args: ["-qec", command, "/dev/null"], stdout: "piped" }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, text);
    assert.match(text, /\rput .*big\.bin {2}32\.0 MiB of 32\.0 MiB \(100\.0%\)/);
    assert.match(text, /\n/);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma stats shows the store's figures in human units, and --json the raw counters", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    await randomFile(store.directory, "a.bin", 3 * MIB, 1);
    await ok("put", `${store.directory}/a.bin`, "-s", store.socketPath);
    const text = await ok("stats", "-s", store.socketPath);
    assert.match(text, new RegExp(`^store ${store.socketPath}`));
    assert.match(text, /capacity\s+64\.0 MiB/);
    assert.match(text, /used\s+3\.0 MiB \(4\.7%\)/);
    assert.match(text, /objects\s+1 \(1 sealed, 0 unsealed\)/);
    assert.match(text, /evictable\s+1 objects, 3\.0 MiB/);
    assert.match(text, /spilled \(on disk\)\s+0 objects, 0 B in 0 files/);
    assert.match(text, /created \(total\)\s+1 objects, 3\.0 MiB/);
    assert.match(text, /get requests \(total\)\s+0/);
    assert.match(text, /clients\s+0/);
    assert.match(text, /queues\s+0 pending gets, 0 queued creates/);

    await using client = await PlasmaClient.connect(store.socketPath);
    const json = JSON.parse(await ok("stats", "--json", "-s", store.socketPath));
    const direct = await client.stats();
    assert.equal(json.capacityBytes, direct.capacityBytes);
    assert.equal(json.allocatedBytes, direct.allocatedBytes);
    assert.equal(json.numObjects, 1);
    // The CLI's own connection is not counted; the client above is.
    assert.equal(json.numClients, 1);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma list shows id, size, state, source, refcount and age, sorted and limited", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    const ids: string[] = [];
    for (const [name, size] of [["s", 1000], ["l", 3 * MIB], ["m", 2 * MIB]] as const) {
      await randomFile(store.directory, name, size, size);
      ids.push((await ok("put", `${store.directory}/${name}`, "-s", store.socketPath)).trim());
    }
    await using client = await PlasmaClient.connect(store.socketPath);
    const unsealed = await client.create(ObjectId.random(), 10);
    assert.equal(unsealed.length, 10);

    const lines = (await ok("list", "-s", store.socketPath, "--limit", "2")).trim().split("\n");
    assert.match(lines[0], /^ID\s+SIZE\s+STATE\s+SOURCE\s+REFS\s+AGE$/);
    assert.match(lines[1], new RegExp(`^${ids[1]}\\s+3\\.0 MiB\\s+sealed\\s+created_by_worker\\s+0\\s+\\d+(ms|s)$`));
    assert.match(lines[2], new RegExp(`^${ids[2]}\\s+2\\.0 MiB\\s+sealed`));
    assert.equal(lines[3], "2 of 4 objects");

    const rows = JSON.parse(await ok("list", "--json", "--sort", "age", "-s", store.socketPath));
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.slice(0, 3).map((row: { id: string }) => row.id), ids);
    assert.equal(rows[3].state, "created");
    assert.equal(rows[3].refCount, 1);
    assert.equal(rows[0].sizeBytes, 1000);

    const badSort = await plasma("list", "--sort", "colour", "-s", store.socketPath);
    assert.equal(badSort.code, 1);
    assert.match(badSort.stderr, /--sort takes one of size, age/);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma top prints frames with a memory gauge, objects and rates; --json one object per frame", async () => {
  const store = await spawnStore(["--memory", "64MiB"]);
  try {
    await randomFile(store.directory, "a.bin", 16 * MIB, 3);
    await ok("put", `${store.directory}/a.bin`, "-s", store.socketPath);
    const text = await ok("top", "-s", store.socketPath, "--iterations", "2", "--interval-ms", "100");
    const frames = text.trim().split("\n\n");
    assert.equal(frames.length, 2, text);
    assert.match(frames[0], /^plasma top {2}/);
    assert.match(frames[0], /memory {3}\[#{10}\.{30}\] 25\.0% {2}16\.0 MiB of 64\.0 MiB/);
    assert.match(frames[0], /objects {2}1: 1 sealed, 0 unsealed/);
    assert.match(frames[0], /rates {4}get 0\.0\/s; create 0\.0\/s \(0 B\/s\); evict 0\.0\/s/);
    assert.ok(!text.includes("\x1b"), "no escape codes when stdout is not a terminal");

    const lines = (await ok("top", "--json", "-s", store.socketPath, "--iterations", "2", "--interval-ms", "100"))
      .trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines.length, 2);
    assert.equal(lines[1].stats.allocatedBytes, 16 * MIB);
    assert.equal(lines[1].rates.createdBytesPerSecond, 0);
    assert.equal(lines[1].rates.getRequestsPerSecond, 0);
    assert.ok(lines[1].timeMs > lines[0].timeMs);

    // Under a load of gets only: each rate is its counter's growth over the frame's interval.
    const [busy, sent] = await whileGetting(
      store.socketPath,
      () => ok("top", "--json", "-s", store.socketPath, "--iterations", "2", "--interval-ms", "300"),
    );
    const [first, second] = busy.trim().split("\n").map((line) => JSON.parse(line));
    const seconds = (second.timeMs - first.timeMs) / 1000;
    const gets = second.stats.numGetRequests - first.stats.numGetRequests;
    assert.ok(gets > 0 && gets <= sent, `${gets} gets between frames, ${sent} sent`);
    assert.ok(Math.abs(second.rates.getRequestsPerSecond - gets / seconds) < 1e-6 * (1 + gets / seconds));
    assert.equal(second.stats.numObjectsCreatedTotal, 1, "the one put; gets create nothing");
    assert.equal(second.rates.createdObjectsPerSecond, 0);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma top on a terminal redraws each frame in place and restores the cursor", async () => {
  const store = await spawnStore(["--memory", "16MiB"]);
  try {
    const command = `${PLASMA} top --socket ${store.socketPath} --iterations 2 --interval-ms 100`;
    const output = await new Deno.Command("script", { args: ["-qec", command, "/dev/null"], stdout: "piped" }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, text);
    // Each frame starts with cursor-home + clear-to-end, not appended below the last one.
    assert.equal(text.split("\x1b[H\x1b[J").length - 1, 2, JSON.stringify(text));
    assert.ok(text.indexOf("\x1b[?25l") < text.indexOf("\x1b[H"), "the cursor is hidden while drawing");
    assert.ok(text.trimEnd().endsWith("\x1b[?25h"), "and shown again at the end");
    assert.match(text, /memory {3}\[\.{40}\] 0\.0% {2}0 B of 16\.0 MiB/);
  } finally {
    await store.stop();
  }
});

Deno.test("plasma works against bin/plasma-store-server and sees what a pyarrow client put", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-cli-" });
  const socketPath = `${directory}/arrow.sock`;
  const server = new Deno.Command(`${REPO}bin/plasma-store-server`, {
    args: ["-m", String(32 * MIB), "-s", socketPath],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    // pyarrow's client gives up after ~5 s of retries: connect only once the store listens.
    if (await readUntil(stdout, "listening on") === null) {
      throw new Error("plasma-store-server exited before listening");
    }
    const writer = new Deno.Command(`${REPO}.venv/bin/python`, {
      args: [`${REPO}tests/fixtures/pyarrow_role.py`, socketPath, "write", "2", "1000"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const written = (await outputOf(writer)).map((line) => line.split(" ")[0]);
    assert.equal(written.length, 2);
    const rows = JSON.parse(await ok("list", "--json", "-s", socketPath));
    assert.deepEqual(rows.map((row: { id: string }) => row.id).sort(), [...written].sort());
    const stats = JSON.parse(await ok("stats", "--json", "-s", socketPath));
    assert.equal(stats.numObjects, 2);
    assert.equal(stats.numObjectsCreatedTotal, 2);
    const bytes = (await plasma("get", written[0], "-s", socketPath)).bytes;
    assert.equal(bytes.length, 1000);
    const after = JSON.parse(await ok("stats", "--json", "-s", socketPath));
    assert.equal(after.numGetRequests, stats.numGetRequests + 1, "plasma get sends one get request");
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await stdout.cancel();
    await server.stderr.cancel();
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("plasma's errors name the socket and the reason; bad usage exits 2", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-cli-" });
  try {
    const missing = await plasma("stats", "-s", `${directory}/none.sock`);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr.trim(),
      `plasma: cannot connect to the store at ${directory}/none.sock: no such socket (is the store running?)`,
    );
    await Deno.writeTextFile(`${directory}/file`, "x");
    const notSocket = await plasma("list", "-s", `${directory}/file`);
    assert.equal(notSocket.code, 1);
    assert.match(notSocket.stderr, new RegExp(`${directory}/file: not a Unix socket`));

    const store = await spawnStore(["--memory", "16MiB"]);
    const socketPath = store.socketPath;
    const absent = await plasma("get", "ab".repeat(20), "-s", socketPath);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, new RegExp(`object ${"ab".repeat(20)} is not in the store at ${socketPath}`));
    const unreadable = await plasma("put", `${directory}/nope.bin`, "-s", socketPath);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /cannot read .*nope\.bin/);
    await store.stop();

    for (
      const [args, pattern] of [
        [[], /missing command/],
        [["frobnicate", "-s", "x"], /unknown command "frobnicate"/],
        [["stats"], /missing --socket/],
        [["stats", "-s", "x", "--bogus"], /--bogus/],
        [["stats", "-s", "x", "--limit", "3"], /stats does not take --limit/],
        [["get", "-s", "x"], /get takes ID, got none/],
        [["get", "xyz", "-s", "x"], /Not a hex object id: xyz/],
      ] as [string[], RegExp][]
    ) {
      const run = await plasma(...args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split("\n").length, 1);
    }
    assert.match(await ok("--help"), /Usage: plasma COMMAND --socket PATH/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test({
  name: "plasma reports a store socket it may not open as permission denied (run as nobody)",
  // Only root can run the tool as another user; the store's socket is 0600, owned by root.
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const store = await spawnStore(["--memory", "16MiB"]);
    const home = await Deno.makeTempDir({ prefix: "plasma-nobody-" });
    try {
      await Deno.chmod(store.directory, 0o755);
      await Deno.chown(home, 65534, 65534);
      const output = await new Deno.Command("setpriv", {
        args: ["--reuid=65534", "--regid=65534", "--clear-groups", "env", `HOME=${home}`, `DENO_DIR=${home}/deno`]
          .concat([Deno.execPath(), "run", "-A", "--cached-only", `--config=${REPO}deno.json`])
          .concat([`${REPO}src/cli/plasma/plasma_main.ts`, "stats", "--socket", store.socketPath]),
        cwd: REPO,
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 1, stderr);
      assert.equal(stderr.trim(), `plasma: cannot connect to the store at ${store.socketPath}: permission denied`);
    } finally {
      await store.stop();
      await Deno.remove(home, { recursive: true });
    }
  },
});

/**
 * Access control against real processes of other users (the suite runs as root; a fixture
 * process drops to the uid and gid under test): --allow-uid, --allow-gid and --socket-mode, on
 * store.ts and on bin/plasma-store-server.
 */
import assert from "node:assert/strict";
import { PlasmaClient } from "../src/client/mod.ts";
import { encodeEmpty } from "../src/protocol/encode.ts";
import { readUntil, REPO, spawnStore, type StoreProcess } from "./_store_fixture.ts";

const ALLOWED_UID = 4242;
const OTHER_UID = 4343;
const ALLOWED_GID = 5050;
const CONNECT_PAYLOAD = [...encodeEmpty()].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** What a process of `uid`/`gid` gets when it connects: connected, closed or denied. */
async function connectAs(socketPath: string, uid: number, gid: number): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [`${REPO}tests/fixtures/connect_as.py`, String(uid), String(gid), socketPath, CONNECT_PAYLOAD],
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim();
}

/** A store whose directory other users may traverse (the socket file's mode alone decides). */
async function openStore(flags: string[]): Promise<StoreProcess> {
  const store = await spawnStore(["--memory", "16MiB", ...flags]);
  await Deno.chmod(store.directory, 0o755);
  return store;
}

Deno.test("--allow-uid admits the listed users and the store's own, and closes everyone else's connection", async () => {
  const store = await openStore(["--socket-mode", "666", "--allow-uid", String(ALLOWED_UID)]);
  try {
    assert.equal(await connectAs(store.socketPath, ALLOWED_UID, ALLOWED_UID), "connected");
    assert.equal(await connectAs(store.socketPath, OTHER_UID, OTHER_UID), "closed");
    await using own = await PlasmaClient.connect(store.socketPath);
    assert.equal((await own.stats()).numObjects, 0);
  } finally {
    const { code, output } = await store.stop();
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`refused a connection from pid \\d+ \\(uid ${OTHER_UID}, gid ${OTHER_UID}\\)`));
  }
});

Deno.test("--allow-gid admits processes by their primary group", async () => {
  const store = await openStore(["--socket-mode", "0o666", "--allow-gid", `1,${ALLOWED_GID}`]);
  try {
    assert.equal(await connectAs(store.socketPath, OTHER_UID, ALLOWED_GID), "connected");
    assert.equal(await connectAs(store.socketPath, OTHER_UID, OTHER_UID), "closed");
  } finally {
    await store.stop();
  }
});

Deno.test("the socket file is 0600 unless --socket-mode shares it deliberately", async () => {
  const closed = await openStore([]);
  try {
    assert.equal((await Deno.stat(closed.socketPath)).mode! & 0o777, 0o600);
    assert.equal(await connectAs(closed.socketPath, ALLOWED_UID, ALLOWED_UID), "denied");
  } finally {
    await closed.stop();
  }
  const shared = await openStore(["--socket-mode", "660"]);
  try {
    assert.equal((await Deno.stat(shared.socketPath)).mode! & 0o777, 0o660);
    // Group root (0) may connect through the group bits; anyone else is kept out by the mode.
    assert.equal(await connectAs(shared.socketPath, ALLOWED_UID, 0), "connected");
    assert.equal(await connectAs(shared.socketPath, ALLOWED_UID, ALLOWED_UID), "denied");
  } finally {
    await shared.stop();
  }
});

Deno.test("bin/plasma-store-server takes the same access flags as long flags", async () => {
  const directory = await Deno.makeTempDir({ prefix: "plasma-test-" });
  await Deno.chmod(directory, 0o755);
  const socketPath = `${directory}/store.sock`;
  const child = new Deno.Command(`${REPO}bin/plasma-store-server`, {
    args: ["-m", "16000000", "-s", socketPath, "--socket-mode=666", `--allow-uid=${ALLOWED_UID}`],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    if (await readUntil(reader, "listening on") === null) {
      throw new Error("plasma-store-server stopped before listening");
    }
    reader.releaseLock();
    assert.equal(await connectAs(socketPath, ALLOWED_UID, ALLOWED_UID), "connected");
    assert.equal(await connectAs(socketPath, OTHER_UID, OTHER_UID), "closed");
  } finally {
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("bad access flags are refused in one line with exit 2", async () => {
  for (const [flag, value] of [["--socket-mode", "999"], ["--allow-uid", "12,x"], ["--allow-gid", "-1"]]) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}store.ts`, "--socket", "/tmp/never.sock", "--memory", "16MiB", flag, value],
    }).output();
    assert.equal(code, 2, `${flag} ${value}`);
    assert.match(new TextDecoder().decode(stderr), new RegExp(`${flag}`));
  }
});

import assert from "node:assert/strict";
import { closeFd, filesystemSpace } from "../../ffi/shared_memory.ts";
import { NativeError } from "../../ffi/status.ts";
import { connectUnix, listenUnix } from "../../ffi/unix_socket.ts";
import { checkCapacity, checkSocketPath, decideCapacity, StartupError } from "./startup_checks.ts";
import { MEMORY_BYTES_MIN, NO_CLUSTER, type StoreConfig } from "./store_flags.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

function storeConfig(overrides: Partial<StoreConfig>): StoreConfig {
  return {
    socketPath: "/tmp/unused.sock",
    memoryBytes: 64 * MIB,
    plasmaDirectory: "/dev/shm",
    populate: false,
    hugepages: false,
    spillDirectory: "",
    fallbackDirectory: "",
    noFallback: false,
    fullDelayMs: 10,
    metricsAddress: "",
    oomGraceMs: 2000,
    clientMemoryBytes: 0,
    socketMode: 0o600,
    allowUids: [],
    allowGids: [],
    ...NO_CLUSTER,
    ...overrides,
  };
}

/** Runs `body` with a fresh temporary directory, removed afterwards whatever happens. */
async function withTempDir(body: (directory: string) => Promise<void> | void): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "plasma_cli_test_" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function isStartupError(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof StartupError, `expected a StartupError, got ${error}`);
    assert.equal(error.name, "StartupError");
    assert.match(error.message, pattern);
    return true;
  };
}

Deno.test("decideCapacity() keeps a request that is at most 90% of the free space", () => {
  assert.deepEqual(decideCapacity(1 * GIB, 10 * GIB, false), { kind: "fits", memoryBytes: 1 * GIB });
  assert.deepEqual(decideCapacity(9 * GIB, 10 * GIB, false), { kind: "fits", memoryBytes: 9 * GIB });
});

Deno.test("decideCapacity() clamps a request above 90% of the free space to 90% of it", () => {
  assert.deepEqual(decideCapacity(9 * GIB + 1, 10 * GIB, false), { kind: "clamped", memoryBytes: 9 * GIB });
  assert.deepEqual(decideCapacity(64 * GIB, 10 * GIB, false), { kind: "clamped", memoryBytes: 9 * GIB });
  assert.deepEqual(decideCapacity(10 * GIB, 10 * GIB, false), { kind: "clamped", memoryBytes: 9 * GIB });
  assert.deepEqual(decideCapacity(2 * GIB, 1001, false), { kind: "too_small", memoryBytes: 900 });
});

Deno.test("decideCapacity() rounds the clamped size down to whole bytes", () => {
  const decision = decideCapacity(100 * MIB, 10 * MIB + 7, false);
  assert.equal(decision.kind, "clamped");
  assert.equal(decision.memoryBytes, Math.floor((10 * MIB + 7) * 0.9));
  assert.ok(Number.isSafeInteger(decision.memoryBytes));
});

Deno.test("decideCapacity() reports too_small when 90% of the free space is under 1 MiB", () => {
  assert.deepEqual(decideCapacity(64 * MIB, MIB, false), { kind: "too_small", memoryBytes: Math.floor(MIB * 0.9) });
  assert.deepEqual(decideCapacity(64 * MIB, 0, false), { kind: "too_small", memoryBytes: 0 });
  const justEnough = Math.ceil(MEMORY_BYTES_MIN / 0.9);
  assert.equal(decideCapacity(64 * MIB, justEnough, false).kind, "clamped");
  assert.ok(decideCapacity(64 * MIB, justEnough, false).memoryBytes >= MEMORY_BYTES_MIN);
});

Deno.test("decideCapacity() never clamps with huge pages", () => {
  assert.deepEqual(decideCapacity(64 * GIB, 1 * GIB, true), { kind: "fits", memoryBytes: 64 * GIB });
  assert.deepEqual(decideCapacity(64 * GIB, 0, true), { kind: "fits", memoryBytes: 64 * GIB });
});

Deno.test("decideCapacity() handles free space beyond Number.MAX_SAFE_INTEGER", () => {
  assert.deepEqual(decideCapacity(GIB, 2 ** 64, false), { kind: "fits", memoryBytes: GIB });
});

Deno.test("decideCapacity() rejects negative or fractional sizes", () => {
  assert.throws(() => decideCapacity(-1, GIB, false), RangeError);
  assert.throws(() => decideCapacity(1.5, GIB, false), RangeError);
  assert.throws(() => decideCapacity(GIB, -1, false), RangeError);
  assert.throws(() => decideCapacity(GIB, Number.NaN, false), RangeError);
});

Deno.test("checkCapacity() keeps a small --memory on /dev/shm with no warning", () => {
  assert.deepEqual(checkCapacity(storeConfig({ memoryBytes: MEMORY_BYTES_MIN })), {
    memoryBytes: MEMORY_BYTES_MIN,
    warnings: [],
  });
});

Deno.test("checkCapacity() clamps a --memory larger than /dev/shm and says how to fix it", () => {
  const freeBytes = filesystemSpace("/dev/shm").freeBytes;
  const result = checkCapacity(storeConfig({ memoryBytes: Number.MAX_SAFE_INTEGER }));
  assert.equal(result.memoryBytes, Math.floor(freeBytes * 0.9));
  assert.equal(result.warnings.length, 1);
  const [warning] = result.warnings;
  assert.ok(!warning.includes("\n"));
  assert.match(warning, /^--memory 8\.0 PiB is more than 90% of the free space; \/dev\/shm has only .+ free: /);
  assert.match(warning, /the store will use .+\. Give the container a bigger \/dev\/shm \(e\.g\. docker --shm-size\)/);
  assert.match(warning, /or pass a smaller --memory\.$/);
});

Deno.test("checkCapacity() with huge pages keeps --memory even beyond the free space", () => {
  const result = checkCapacity(storeConfig({ memoryBytes: Number.MAX_SAFE_INTEGER, hugepages: true }));
  assert.deepEqual(result, { memoryBytes: Number.MAX_SAFE_INTEGER, warnings: [] });
});

Deno.test("checkCapacity() names another --plasma-directory in its advice", async () => {
  await withTempDir((directory) => {
    const result = checkCapacity(storeConfig({ memoryBytes: Number.MAX_SAFE_INTEGER, plasmaDirectory: directory }));
    assert.match(result.warnings[0], new RegExp(`${directory} has only .+ Free space in ${directory} or pass`));
  });
});

Deno.test("checkCapacity() refuses a missing --plasma-directory", () => {
  assert.throws(
    () => checkCapacity(storeConfig({ plasmaDirectory: "/nonexistent/plasma" })),
    isStartupError(/^--plasma-directory \/nonexistent\/plasma does not exist$/),
  );
});

Deno.test("checkCapacity() refuses a --plasma-directory that is a file", async () => {
  await withTempDir(async (directory) => {
    const file = `${directory}/not_a_directory`;
    await Deno.writeTextFile(file, "x");
    assert.throws(
      () => checkCapacity(storeConfig({ plasmaDirectory: file })),
      isStartupError(/is not a directory$/),
    );
  });
});

Deno.test("checkSocketPath() returns free when nothing is at the path", async () => {
  await withTempDir(async (directory) => {
    assert.equal(await checkSocketPath(`${directory}/store.sock`), "free");
    assert.deepEqual([...Deno.readDirSync(directory)], [], "the writability probe leaves nothing behind");
  });
});

Deno.test("checkSocketPath() refuses a path where a store is listening", async () => {
  await withTempDir(async (directory) => {
    const path = `${directory}/store.sock`;
    const listenFd = listenUnix(path);
    try {
      await assert.rejects(checkSocketPath(path), isStartupError(/^another store is listening on .*store\.sock/));
      assert.ok(Deno.lstatSync(path).isSocket, "the live socket is left in place");
    } finally {
      closeFd(listenFd);
    }
  });
});

Deno.test("checkSocketPath() removes a stale socket nobody listens on", async () => {
  await withTempDir(async (directory) => {
    const path = `${directory}/store.sock`;
    closeFd(listenUnix(path)); // Closing the fd leaves the socket file, as a crashed store does.
    assert.ok(Deno.lstatSync(path).isSocket);
    assert.equal(await checkSocketPath(path), "stale");
    assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
    assert.equal(await checkSocketPath(path), "free");
  });
});

Deno.test("checkSocketPath() refuses to replace a regular file and leaves it alone", async () => {
  await withTempDir(async (directory) => {
    const path = `${directory}/store.sock`;
    await Deno.writeTextFile(path, "keep me");
    await assert.rejects(checkSocketPath(path), isStartupError(/exists and is not a socket; refusing to replace it$/));
    assert.equal(await Deno.readTextFile(path), "keep me");
  });
});

Deno.test("checkSocketPath() refuses a directory or a symlink at the path", async () => {
  await withTempDir(async (directory) => {
    await Deno.mkdir(`${directory}/dir.sock`);
    await assert.rejects(checkSocketPath(`${directory}/dir.sock`), isStartupError(/is not a socket/));
    const target = `${directory}/target.sock`;
    closeFd(listenUnix(target));
    await Deno.symlink(target, `${directory}/link.sock`);
    await assert.rejects(checkSocketPath(`${directory}/link.sock`), isStartupError(/is not a socket/));
    assert.ok(Deno.lstatSync(target).isSocket, "the symlink's target is untouched");
  });
});

Deno.test("checkSocketPath() refuses a path whose directory is missing or a file", async () => {
  await withTempDir(async (directory) => {
    await assert.rejects(
      checkSocketPath(`${directory}/missing/store.sock`),
      isStartupError(/^The socket's directory .*\/missing does not exist$/),
    );
    await Deno.writeTextFile(`${directory}/file`, "");
    await assert.rejects(checkSocketPath(`${directory}/file/store.sock`), isStartupError(/is not a directory$/));
  });
});

Deno.test("checkSocketPath() refuses a read-only directory even for root", async () => {
  // /proc is mounted read-only for file creation for everyone, root included (the suite runs as
  // root, so a chmod'ed directory could not show the refusal).
  await assert.rejects(
    checkSocketPath("/proc/store.sock"),
    isStartupError(/^The socket's directory \/proc is not writable/),
  );
});

Deno.test("checkSocketPath() treats a store with a full accept queue as live", async () => {
  await withTempDir(async (directory) => {
    const path = `${directory}/store.sock`;
    const listenFd = listenUnix(path, { backlog: 1 });
    const clientFds: number[] = [];
    try {
      // Fill the queue until the kernel answers EAGAIN, as a busy store's socket would.
      for (let attempt = 0; attempt < 16; attempt += 1) {
        try {
          clientFds.push(connectUnix(path, { nonBlocking: true }));
        } catch (error) {
          assert.ok(error instanceof NativeError && error.status === "would_block", String(error));
          break;
        }
      }
      assert.ok(clientFds.length < 16, "the accept queue filled up");
      await assert.rejects(checkSocketPath(path), isStartupError(/^another store is listening/));
      assert.ok(Deno.lstatSync(path).isSocket);
    } finally {
      for (const fd of clientFds) closeFd(fd);
      closeFd(listenFd);
    }
  });
});

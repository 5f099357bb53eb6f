/**
 * Test fixtures: a store run by the ObjectStoreRunner in this process (its own Worker thread, so
 * a client on the main thread may block on a reply), or a store process started like a user would.
 */
import { ObjectStoreRunner } from "../src/runner/object_store_runner.ts";
import type { StoreStats } from "../src/protocol/messages.ts";
import type { StoreEvent } from "../src/store/store_events.ts";

const MIB = 1024 * 1024;
export const REPO = new URL("../", import.meta.url).pathname;

export interface TestStore {
  socketPath: string;
  runner: ObjectStoreRunner;
  events: StoreEvent[];
}

/** Runs `body` against a fresh store in a temp dir; stops it and removes the dir even on failure. */
export async function withStore(
  body: (store: TestStore) => Promise<void>,
  options: { memoryBytes?: number; oomGraceMs?: number; fallbackDirectory?: string } = {},
): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-test-" });
  const socketPath = `${directory}/store.sock`;
  const runner = await ObjectStoreRunner.start({
    socketPath,
    capacityBytes: options.memoryBytes ?? 64 * MIB,
    directory: "/dev/shm",
    populate: false,
    hugepages: false,
    fullDelayMs: 10,
    oomGraceMs: options.oomGraceMs ?? 300,
    fallbackDirectory: options.fallbackDirectory ?? "",
  });
  const events: StoreEvent[] = [];
  runner.onEvent((event) => events.push(event));
  try {
    await body({ socketPath, runner, events });
  } finally {
    await runner.stop();
    await Deno.remove(directory, { recursive: true });
  }
}

/** A store process started with `deno run -A store.ts`, ready once it printed its line. */
export interface StoreProcess {
  child: Deno.ChildProcess;
  socketPath: string;
  directory: string;
  /** Sends `signal` (default SIGTERM) and waits; returns the exit code and what it printed. */
  stop(signal?: Deno.Signal): Promise<{ code: number; output: string }>;
}

export async function spawnStore(args: string[] = ["--memory", "64MiB"]): Promise<StoreProcess> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-test-" });
  const socketPath = `${directory}/store.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}store.ts`, "--socket", socketPath, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = await readUntil(reader, "listening on") ?? "";
  if (!output.includes("listening on")) {
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    await Deno.remove(directory, { recursive: true });
    throw new Error(`store exited with ${status.code} before listening: ${stderr}`);
  }
  let stopped: Promise<{ code: number; output: string }> | undefined;
  return {
    child,
    socketPath,
    directory,
    stop(signal: Deno.Signal = "SIGTERM") {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already exited */ }
        const rest = (async () => {
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += chunk.value;
        })();
        const status = await child.status;
        await rest;
        output += await new Response(child.stderr).text();
        await Deno.remove(directory, { recursive: true }).catch(() => {});
        return { code: status.code, output };
      })();
      return stopped;
    },
  };
}

/** Runs a client role script (tests/fixtures/client_role.ts) in its own process. */
export function spawnClient(socketPath: string, role: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${REPO}deno.json`, `${REPO}tests/fixtures/client_role.ts`, socketPath, role, ...args],
    stdout: "piped",
    stderr: "piped",
    cwd: REPO,
  }).spawn();
}

/** Waits for a role process and returns its stdout lines; fails with its stderr when it failed. */
export async function outputOf(child: Deno.ChildProcess): Promise<string[]> {
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`client role failed (${code}): ${new TextDecoder().decode(stderr)}`);
  return text.split("\n").filter((line) => line.length > 0);
}

/** Polls `condition` until it holds (or fails after `timeoutMs`). */
export async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // A check that never settles (a command on a wedged connection) fails at the deadline, not never.
  while (!(await beforeDeadline(condition(), deadline))) {
    if (performance.now() > deadline) throw new Error("condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `value`, or false once `deadline` (a performance.now() time) has passed without it. */
async function beforeDeadline(value: Promise<boolean> | boolean, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), deadline - performance.now()));
  try {
    return await Promise.race([value, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A tmpfs of `sizeBytes` mounted on a fresh directory (a disk that fills up), for `body`. */
export async function withSmallDisk(sizeBytes: number, body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-disk-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${sizeBytes}`, "tmpfs", directory],
  })
    .output();
  if (!mount.success) {
    await Deno.remove(directory);
    throw new Error(`cannot mount a small tmpfs: ${new TextDecoder().decode(mount.stderr)}`);
  }
  try {
    await body(directory);
  } finally {
    await new Deno.Command("umount", { args: [directory] }).output();
    await Deno.remove(directory, { recursive: true });
  }
}

/** Counters that only grow (what happened since start), left out when stats must return to a baseline. */
const SINCE_START_COUNTERS = ["numBytesCreatedTotal", "numObjectsCreatedTotal", "numGetRequests"] as const;

/** The store's state without its since-start counters: what must come back to baseline after a client goes. */
export function stateOf(stats: StoreStats): Omit<StoreStats, (typeof SINCE_START_COUNTERS)[number]> {
  const state: Partial<StoreStats> = { ...stats };
  for (const counter of SINCE_START_COUNTERS) delete state[counter];
  return state as Omit<StoreStats, (typeof SINCE_START_COUNTERS)[number]>;
}

/**
 * Reads a child's text output until `marker` appears; returns everything read, or null if the
 * stream ended first (the caller says what that means).
 */
export async function readUntil(reader: ReadableStreamDefaultReader<string>, marker: string): Promise<string | null> {
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) return null;
    text += value;
  }
  return text;
}

/**
 * A store process for the reliability suite and what can be measured of it from outside: its
 * RSS and open fds (from /proc), and the counters that must return to baseline after an attack.
 * Invariant: every store started here is stopped (and its directory removed) by `stop`.
 * @module
 */
import { PlasmaClient } from "../../src/client/mod.ts";
import type { StoreStats } from "../../src/protocol/messages.ts";

export const REPO = new URL("../../", import.meta.url).pathname;

/** The counters that say what clients hold: all must be back at baseline once they are gone. */
export const HELD_COUNTERS = [
  "numObjects",
  "numObjectsInUse",
  "numObjectsUnsealed",
  "numBytesUnsealed",
  "numClients",
  "numPendingGets",
  "numQueuedCreates",
  "allocatedBytes",
] as const satisfies readonly (keyof StoreStats)[];

/** A snapshot of what the store holds. */
export interface StoreFootprint {
  rssBytes: number;
  fds: number;
  counters: Record<typeof HELD_COUNTERS[number], number>;
}

/** A running store process. */
export class ProbedStore {
  readonly socketPath: string;
  readonly #child: Deno.ChildProcess;
  readonly #directory: string;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  #output = "";

  private constructor(child: Deno.ChildProcess, directory: string, socketPath: string) {
    this.#child = child;
    this.#directory = directory;
    this.socketPath = socketPath;
    this.#stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Starts `store.ts` with `flags` in a fresh directory; resolves once it listens. */
  static async start(flags: string[]): Promise<ProbedStore> {
    const directory = await Deno.makeTempDir({ prefix: "plasma-reliability-" });
    const socketPath = `${directory}/store.sock`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--max-semi-space-size=1", `${REPO}store.ts`, "--socket", socketPath, ...flags],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const store = new ProbedStore(child, directory, socketPath);
    await store.#waitListening();
    return store;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process still runs. */
  async alive(): Promise<boolean> {
    return await Promise.race([this.#child.status.then(() => false), Promise.resolve(true)]);
  }

  /** RSS, fds and the held counters, as the store reports them now. */
  async footprint(): Promise<StoreFootprint> {
    await using client = await PlasmaClient.connect(this.socketPath, { retries: 0 });
    const stats = await client.stats();
    const counters = Object.fromEntries(HELD_COUNTERS.map((name) => [name, stats[name]])) as StoreFootprint["counters"];
    counters.numClients -= 1; // the probe's own connection
    const status = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return { rssBytes: rssKib * 1024, fds: [...Deno.readDirSync(`/proc/${this.pid}/fd`)].length, counters };
  }

  /** SIGTERM, wait, remove the directory; returns the exit code and everything it printed. */
  async stop(): Promise<{ code: number; output: string }> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already exited */ }
    const status = await this.#child.status;
    for (let chunk = await this.#stdout.read(); !chunk.done; chunk = await this.#stdout.read()) {
      this.#output += chunk.value;
    }
    const stderr = await new Response(this.#child.stderr).text().catch(() => "");
    await Deno.remove(this.#directory, { recursive: true }).catch(() => {});
    return { code: status.code, output: this.#output + stderr };
  }

  async #waitListening(): Promise<void> {
    while (!this.#output.includes("listening on")) {
      const { value, done } = await this.#stdout.read();
      if (done) throw new Error(`store exited before listening: ${await new Response(this.#child.stderr).text()}`);
      this.#output += value;
    }
  }
}

/** Waits until `check` returns null (settled) or `timeoutMs` passes; returns the last complaint. */
export async function settle(check: () => Promise<string | null>, timeoutMs: number): Promise<string | null> {
  const deadline = performance.now() + timeoutMs;
  let complaint = await check();
  while (complaint !== null && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    complaint = await check();
  }
  return complaint;
}

/** A small seeded PRNG (mulberry32): every random choice of the suite replays from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * The soak: many concurrent clients (spread over a few processes) doing put/get/release/delete
 * for a bounded time, while the store's RSS and fd count are sampled every second. Flat means:
 * after a warm-up, the last third of the run holds no more RSS than the first third plus a small
 * slack, and the fd count does not grow. Invariant: every process spawned is killed in a finally.
 * @module
 */
import { mib, type ProbedStore, REPO } from "./_store_probe.ts";

export interface SoakOptions {
  clients: number;
  processes: number;
  seconds: number;
  seed: number;
}

export interface SoakResult {
  clients: number;
  ops: number;
  seconds: number;
  rssFirstBytes: number;
  rssLastBytes: number;
  fdsFirst: number;
  fdsLast: number;
  complaint: string | null;
}

/** RSS growth allowed between the first and last third (V8's heap breathes). */
const RSS_SLACK_BYTES = 16 * 1024 * 1024;
const RSS_SLACK_FRACTION = 0.1;

async function readLine(reader: ReadableStreamDefaultReader<string>, buffer: { text: string }): Promise<string> {
  while (!buffer.text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`soak client ended early: ${buffer.text}`);
    buffer.text += value;
  }
  const [line, ...rest] = buffer.text.split("\n");
  buffer.text = rest.join("\n");
  return line;
}

function sample(pid: number): { rss: number; fds: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return {
    rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024,
    fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length,
  };
}

/** Runs the soak against `store`. */
export async function runSoak(store: ProbedStore, options: SoakOptions): Promise<SoakResult> {
  const perProcess = Math.ceil(options.clients / options.processes);
  const children = Array.from({ length: options.processes }, (_, index) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--config=${REPO}deno.json`,
        `${REPO}bench/reliability/_soak_client.ts`,
        store.socketPath,
        String(perProcess),
        String(options.seconds),
        String(options.seed + index),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn());
  try {
    const readers = children.map((child) => ({
      reader: child.stdout.pipeThrough(new TextDecoderStream()).getReader(),
      buffer: { text: "" },
    }));
    for (const { reader, buffer } of readers) {
      if ((await readLine(reader, buffer)) !== "ready") throw new Error("soak client did not get ready");
    }
    const samples: { rss: number; fds: number }[] = [];
    const started = performance.now();
    // Sampled while every client is still connected (clients close in their last moments).
    const sampler = setInterval(() => {
      if (performance.now() - started < (options.seconds - 1) * 1000) samples.push(sample(store.pid));
    }, 1_000);
    let ops = 0;
    try {
      for (const { reader, buffer } of readers) ops += Number((await readLine(reader, buffer)).replace("ops=", ""));
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const measured = samples.slice(Math.floor(samples.length / 5));
    const third = Math.max(1, Math.floor(measured.length / 3));
    const first = measured.slice(0, third);
    const last = measured.slice(-third);
    const maxOf = (values: number[]) => Math.max(...values);
    const rssFirstBytes = maxOf(first.map((s) => s.rss));
    const rssLastBytes = maxOf(last.map((s) => s.rss));
    const fdsFirst = maxOf(first.map((s) => s.fds));
    const fdsLast = maxOf(last.map((s) => s.fds));
    let complaint: string | null = null;
    if (rssLastBytes > rssFirstBytes * (1 + RSS_SLACK_FRACTION) + RSS_SLACK_BYTES) {
      complaint = `RSS grew from ${mib(rssFirstBytes)} to ${mib(rssLastBytes)}`;
    } else if (fdsLast > fdsFirst) {
      complaint = `fds grew from ${fdsFirst} to ${fdsLast}`;
    }
    return {
      clients: perProcess * options.processes,
      ops,
      seconds,
      rssFirstBytes,
      rssLastBytes,
      fdsFirst,
      fdsLast,
      complaint,
    };
  } finally {
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }
    await Promise.all(children.map((child) => child.status));
  }
}

export function describeSoak(result: SoakResult): string {
  return `${result.clients} concurrent clients for ${result.seconds.toFixed(0)} s, ${result.ops} requests ` +
    `(${Math.round(result.ops / result.seconds)}/s): RSS ${mib(result.rssFirstBytes)} -> ${
      mib(result.rssLastBytes)
    }, ` +
    `fds ${result.fdsFirst} -> ${result.fdsLast}: ${result.complaint ?? "flat"}`;
}

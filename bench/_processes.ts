/**
 * Child processes of the benchmark drivers: spawn with piped stdout, read it line by line with a
 * deadline, parse `key=value` result lines, and kill by pid. Private to bench/.
 * Invariant: every child spawned through a `Children` set is killed by `killAll` (call it in a finally).
 * @module
 */

/** The children a driver started, so a finally block can kill whatever an error left running. */
export class Children {
  readonly #running = new Set<Deno.ChildProcess>();

  /** Starts `command` with stdout piped and stderr inherited. */
  spawn(command: string, args: string[], stdin: "piped" | "null"): Deno.ChildProcess {
    const child = new Deno.Command(command, { args, stdin, stdout: "piped", stderr: "inherit" }).spawn();
    this.#running.add(child);
    child.status.finally(() => this.#running.delete(child));
    return child;
  }

  /** SIGKILLs every child still running (by its pid) and waits for each to exit. */
  async killAll(): Promise<void> {
    const running = [...this.#running];
    for (const child of running) kill(child);
    await Promise.all(running.map((child) => child.status));
  }
}

/** Sends SIGKILL unless the child has exited already. */
export function kill(child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL"): void {
  try {
    child.kill(signal);
  } catch {
    // Already exited.
  }
}

/** Reads a child's stdout line by line. */
export class LineReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, or an error after `timeoutMs` or at end of output. */
  async next(timeoutMs: number, what: string): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#buffer.includes("\n")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${what}`)),
          Math.max(0, deadline - performance.now()),
        );
      });
      try {
        const chunk = await Promise.race([this.#reader.read(), timeout]);
        if (chunk.done) throw new Error(`Output ended while waiting for ${what}`);
        this.#buffer += chunk.value;
      } finally {
        clearTimeout(timer);
      }
    }
    const end = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.slice(end + 1);
    return line;
  }
}

/** Parses a line of `key=value` pairs with numeric values; throws when one of `required` is missing. */
export function parseKeyValues(line: string, required: readonly string[]): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const pair of line.trim().split(/\s+/)) {
    const [key, value] = pair.split("=");
    fields[key] = Number(value);
  }
  for (const key of required) {
    if (!Number.isFinite(fields[key])) throw new Error(`Unexpected output (no ${key}): ${line}`);
  }
  return fields;
}

/** Deadlines of {@linkcode runTogether}: for all clients to say "ready", and for each result. */
export interface TogetherDeadlines {
  startupMs: number;
  runMs: number;
}

/** What {@linkcode runTogetherDetailed} measured: the aggregate rate and each client's result line. */
export interface TogetherResult {
  /** Sum of the count field over all clients, per second of the span from first start to last end. */
  rate: number;
  /** Sum of the count field over all clients. */
  done: number;
  /** Each client's parsed `key=value` result line. */
  results: Record<string, number>[];
}

/** Called right after the clients are released, and right after the last result arrived. */
export interface TogetherHooks {
  released?: () => void;
  finished?: () => void;
}

/**
 * Starts `count` client processes, waits until each prints "ready", releases them together
 * (one "g" line each), and returns the aggregate rate: the sum of `countField` over all clients
 * (each prints `start_ms=... end_ms=... <countField>=...`) divided by the span from the first
 * start to the last end. Kills the clients in any case.
 */
export async function runTogether(
  start: () => Deno.ChildProcess,
  count: number,
  countField: (fields: Record<string, number>) => number,
  describe: string,
  deadlines: TogetherDeadlines,
): Promise<number> {
  return (await runTogetherDetailed(start, count, countField, describe, deadlines)).rate;
}

/** {@linkcode runTogether}, also returning what each client printed, with hooks around the run. */
export async function runTogetherDetailed(
  start: () => Deno.ChildProcess,
  count: number,
  countField: (fields: Record<string, number>) => number,
  describe: string,
  deadlines: TogetherDeadlines,
  hooks: TogetherHooks = {},
): Promise<TogetherResult> {
  const started = Array.from({ length: count }, start);
  try {
    const readers = started.map((child) => new LineReader(child.stdout));
    for (const reader of readers) {
      const line = await reader.next(deadlines.startupMs, "a client to connect");
      if (line !== "ready") throw new Error(`Unexpected client line: ${line}`);
    }
    const writers = started.map((child) => child.stdin.getWriter());
    const go = new TextEncoder().encode("g\n");
    await Promise.all(writers.map((writer) => writer.write(go)));
    hooks.released?.();
    const results = await Promise.all(readers.map((reader) => reader.next(deadlines.runMs, "a client's result")));
    hooks.finished?.();
    await Promise.all(writers.map((writer) => writer.close()));
    const statuses = await Promise.all(started.map((child) => child.status));
    if (statuses.some((status) => !status.success)) throw new Error(`A client of ${describe} failed`);
    const parsed = results.map((line) => parseKeyValues(line, ["rate", "start_ms", "end_ms"]));
    const done = parsed.reduce((sum, fields) => sum + countField(fields), 0);
    const spanMs = Math.max(...parsed.map((fields) => fields.end_ms)) -
      Math.min(...parsed.map((fields) => fields.start_ms));
    return { rate: done / (spanMs / 1000), done, results: parsed };
  } finally {
    for (const child of started) kill(child);
  }
}

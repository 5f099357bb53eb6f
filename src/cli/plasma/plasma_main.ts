/**
 * `plasma SUBCOMMAND --socket PATH`: look inside a running store (stats, list, top) and move
 * files in and out of it (put, get). Works against a store of either dialect: this client always
 * speaks ours, and the dialect is chosen per connection. Exit codes: 0 done, 1 failed, 2 bad usage.
 * @module
 */
import { parseArgs } from "node:util";
import { ObjectId, type PlasmaClient, StoreError } from "../../client/mod.ts";
import { excludingObserver } from "../../observe/stats_view.ts";
import { CliError, connectToStore } from "./connect.ts";
import { listRows, renderList, SORT_KEYS } from "./list_command.ts";
import { renderStats } from "./stats_command.ts";
import { runTop } from "./top_command.ts";
import { getToOutput, putFile } from "./transfer_commands.ts";

/** Exit code for a command line that cannot run. */
export const EXIT_USAGE = 2;
/** Exit code for a command that ran and failed. */
export const EXIT_FAILED = 1;

export const PLASMA_USAGE = `Look inside a running plasma store, and move files in and out of it.
Usage: plasma COMMAND --socket PATH [options]
Commands:
  stats                 capacity, memory used, evictable/spilled objects, clients, queues
  list                  every object: id, size, state, source, refcount, age
  top                   a live view, redrawn in place (Ctrl-C to quit)
  put FILE              store FILE's bytes as a new sealed object; prints its id
  get ID                write object ID's data to stdout (or --output FILE)
Options:
  -s, --socket PATH     the store's Unix socket (required)
  --json                machine-readable output (stats, list, top)
  --sort KEY            list order: ${Object.keys(SORT_KEYS).join(", ")} (default size)
  --limit N             list at most N objects
  --interval-ms MS      top's refresh interval (default 1000)
  --iterations N        top: stop after N frames
  --id HEX              put: the new object's id (default: random, 20 bytes)
  -o, --output FILE     get: write here instead of stdout
  --timeout-ms MS       get: how long to wait for the object to be sealed (default 0)
  -h, --help            print this help
Progress of long put/get is shown on stderr when it is a terminal.`;

const OPTIONS = {
  socket: { type: "string", short: "s" },
  json: { type: "boolean" },
  sort: { type: "string" },
  limit: { type: "string" },
  "interval-ms": { type: "string" },
  iterations: { type: "string" },
  id: { type: "string" },
  output: { type: "string", short: "o" },
  "timeout-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "string" ? string : boolean };

/** A subcommand: how many arguments it takes, which flags it accepts, and what it does. */
interface Command {
  arguments: string[];
  flags: (keyof typeof OPTIONS)[];
  /** Checks the arguments' values before connecting, so bad usage never waits on a store. */
  validate?(args: string[], flags: Flags): void;
  run(client: PlasmaClient, socketPath: string, args: string[], flags: Flags): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  stats: {
    arguments: [],
    flags: ["json"],
    run: async (client, socketPath, _args, flags) => {
      const stats = excludingObserver(await client.stats());
      console.log(flags.json ? JSON.stringify(stats) : renderStats(socketPath, stats));
    },
  },
  list: {
    arguments: [],
    flags: ["json", "sort", "limit"],
    validate: (_args, flags) => {
      if (flags.limit !== undefined) wholeNumber("--limit", flags.limit, 0);
    },
    run: async (client, _socketPath, _args, flags) => {
      const listings = await client.list();
      const limit = flags.limit === undefined ? undefined : wholeNumber("--limit", flags.limit, 0);
      const rows = listRows(listings, Date.now(), flags.sort ?? "size", limit);
      console.log(flags.json ? JSON.stringify(rows) : renderList(rows, listings.length));
    },
  },
  top: {
    arguments: [],
    flags: ["json", "interval-ms", "iterations"],
    validate: (_args, flags) => {
      wholeNumber("--interval-ms", flags["interval-ms"] ?? "1000", 50);
      if (flags.iterations !== undefined) wholeNumber("--iterations", flags.iterations, 1);
    },
    run: async (client, socketPath, _args, flags) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      Deno.addSignalListener("SIGINT", onSignal);
      try {
        await runTop(client, {
          socketPath,
          intervalMs: wholeNumber("--interval-ms", flags["interval-ms"] ?? "1000", 50),
          iterations: flags.iterations === undefined ? undefined : wholeNumber("--iterations", flags.iterations, 1),
          json: flags.json === true,
          signal: stop.signal,
          output: Deno.stdout,
        });
      } finally {
        Deno.removeSignalListener("SIGINT", onSignal);
      }
    },
  },
  put: {
    arguments: ["FILE"],
    flags: ["id"],
    validate: (_args, flags) => {
      if (flags.id !== undefined) objectId(flags.id);
    },
    run: async (client, _socketPath, [path], flags) => {
      const id = flags.id === undefined ? undefined : objectId(flags.id);
      console.log((await putFile(client, path, { id })).toHex());
    },
  },
  get: {
    arguments: ["ID"],
    flags: ["output", "timeout-ms"],
    validate: ([hex], flags) => {
      objectId(hex);
      wholeNumber("--timeout-ms", flags["timeout-ms"] ?? "0", 0);
    },
    run: async (client, socketPath, [hex], flags) => {
      const timeoutMs = wholeNumber("--timeout-ms", flags["timeout-ms"] ?? "0", 0);
      await getToOutput(client, objectId(hex), { output: flags.output, timeoutMs, socketPath });
    },
  },
};

/** A command line that cannot run; reported with a pointer to --help. */
class UsageError extends Error {}

/** Runs one `plasma` command line; returns the exit code. */
export async function plasmaMain(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof TypeError)) throw error;
    console.error(`plasma: ${error.message} (see plasma --help)`);
    return EXIT_USAGE;
  }
  if (parsed === "help") {
    console.log(PLASMA_USAGE);
    return 0;
  }
  const { command, socketPath, positionals, flags } = parsed;
  try {
    await using client = await connectToStore(socketPath);
    await command.run(client, socketPath, positionals, flags);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`plasma: ${error.message} (see plasma --help)`);
      return EXIT_USAGE;
    }
    if (!(error instanceof CliError || error instanceof StoreError || error instanceof RangeError)) throw error;
    console.error(`plasma: ${error.message}`);
    return EXIT_FAILED;
  }
}

function parseCommandLine(
  args: string[],
): "help" | { command: Command; socketPath: string; positionals: string[]; flags: Flags } {
  // strict: unknown flags and values given to booleans are a TypeError naming the flag.
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const flags = values as Flags;
  if (flags.help) return "help";
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError("missing command: one of " + Object.keys(COMMANDS).join(", "));
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  if (rest.length !== command.arguments.length) {
    const expected = command.arguments.length === 0 ? "no arguments" : command.arguments.join(" ");
    throw new UsageError(`${name} takes ${expected}, got ${rest.length === 0 ? "none" : rest.join(" ")}`);
  }
  for (const flag of Object.keys(flags)) {
    if (flag !== "socket" && !command.flags.includes(flag as keyof typeof OPTIONS)) {
      throw new UsageError(`${name} does not take --${flag}`);
    }
  }
  command.validate?.(rest, flags);
  const socketPath = flags.socket ?? Deno.env.get("PLASMA_SOCKET");
  if (socketPath === undefined || socketPath === "") {
    throw new UsageError("missing --socket PATH (or PLASMA_SOCKET)");
  }
  return { command, socketPath, positionals: rest, flags };
}

function wholeNumber(flag: string, text: string, min: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} takes a whole number of at least ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function objectId(hex: string): ObjectId {
  try {
    return ObjectId.fromHex(hex);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

if (import.meta.main) Deno.exit(await plasmaMain(Deno.args));

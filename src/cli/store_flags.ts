/**
 * The store's command-line flags: one table of flag specs from which both parsing and `--help`
 * are derived, so a new flag is one entry. Every bad command line becomes one `FlagError`.
 * @module
 */
import { parseArgs } from "node:util";
import { parseMetricsAddress } from "../observe/metrics_address.ts";
import { FULL_DELAY_MS_DEFAULT, OOM_GRACE_MS_DEFAULT } from "../store/constants.ts";
import { formatSize, parseSize } from "./sizes.ts";

/** Longest socket path Linux accepts: `sun_path` is 108 bytes including the terminating NUL. */
export const SOCKET_PATH_BYTES_MAX = 107;

/** Smallest store the command line accepts. */
export const MEMORY_BYTES_MIN = 1024 * 1024;

/** Where the store's shared memory lives unless `--plasma-directory` says otherwise. */
export const PLASMA_DIRECTORY_DEFAULT = "/dev/shm";

/** The store's settings, as the command line gave them. */
export interface StoreConfig {
  /** Unix socket path clients connect to (at most {@linkcode SOCKET_PATH_BYTES_MAX} bytes). */
  socketPath: string;
  /** Bytes of shared memory the store may hand out (at least {@linkcode MEMORY_BYTES_MIN}). */
  memoryBytes: number;
  /** Directory whose filesystem backs the shared memory (default `/dev/shm`). */
  plasmaDirectory: string;
  /** Pre-fault every page at start-up. */
  populate: boolean;
  /** Back the store with huge pages. */
  hugepages: boolean;
  /** Where sealed primary copies are spilled when memory runs short ("" = spilling off). */
  spillDirectory: string;
  /** Where fallback allocations go ("" = the spill directory, else /tmp). */
  fallbackDirectory: string;
  /** Never allocate objects in files: a create that cannot fit fails with OutOfMemory/OutOfDisk. */
  noFallback: boolean;
  /** How often the head of the create queue is retried while memory is short. */
  fullDelayMs: number;
  /** How long the head of the create queue may wait for memory before the fallback (or failure). */
  oomGraceMs: number;
  /** Memory all clients together may make the store hold outside object memory (0: the default, see clientMemoryBytesFor). */
  clientMemoryBytes: number;
  /** Permission bits of the socket file (default 0o600: only the store's user may connect). */
  socketMode: number;
  /** User ids whose processes may connect, besides the store's own ([] with no gids: anyone who can open the socket). */
  allowUids: number[];
  /** Group ids whose processes may connect (the peer's primary group, from SO_PEERCRED). */
  allowGids: number[];
  /** `redis://HOST:PORT` of the cluster directory ("" = a single node, no object manager). */
  clusterUrl: string;
  /** `HOST:PORT` where this node's object manager listens for peers (required with a cluster). */
  nodeAddress: string;
  /** This node's id in the cluster ("" = derived from the node address). */
  nodeId: string;
  /** File holding the secret peers must prove they know ("" = peers are not authenticated). */
  clusterSecretFile: string;
  /** `HOST:PORT` of the metrics endpoint (Prometheus `/metrics`, `/healthz`, dashboard); "" = none. */
  metricsAddress: string;
}

/** The cluster settings of a single node (no object manager): for configs not made from flags. */
export const NO_CLUSTER = { clusterUrl: "", nodeAddress: "", nodeId: "", clusterSecretFile: "" } as const;

/** What {@linkcode parseStoreFlags} found: a request for help, or a complete configuration. */
export type StoreFlagsResult =
  | { kind: "help"; text: string }
  | { kind: "config"; config: StoreConfig };

/** A command line the store cannot run with; the message is one line, meant for the user. */
export class FlagError extends Error {
  /** @param message what is wrong with the command line, naming the flag */
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

type KeysOf<Value> = { [K in keyof StoreConfig]: StoreConfig[K] extends Value ? K : never }[keyof StoreConfig];

/** One flag: its name, the config field it fills, how its value is read, and its help line. */
export type FlagSpec =
  | {
    /** The long name, without the leading `--`. */
    name: string;
    type: "string";
    key: KeysOf<string>;
    /** Placeholder shown in help, e.g. `PATH`. */
    valueName: string;
    /** The value when the flag is absent; no default means the flag is required. */
    default?: string;
    /** Longest accepted value in UTF-8 bytes. */
    bytesMax?: number;
    description: string;
  }
  | {
    name: string;
    type: "size";
    key: KeysOf<number>;
    valueName: string;
    /** The default as it would be typed, e.g. `1GiB`; no default means the flag is required. */
    default?: string;
    /** Smallest accepted size in bytes. */
    bytesMin?: number;
    description: string;
  }
  | {
    name: string;
    type: "integer";
    key: KeysOf<number>;
    valueName: string;
    default: string;
    min: number;
    max: number;
    description: string;
  }
  | {
    name: string;
    /** Permission bits in octal, e.g. `660` or `0o660`. */
    type: "mode";
    key: KeysOf<number>;
    valueName: string;
    default: string;
    description: string;
  }
  | {
    name: string;
    /** Comma-separated numeric user or group ids. */
    type: "ids";
    key: KeysOf<number[]>;
    valueName: string;
    default: string;
    description: string;
  }
  | {
    name: string;
    type: "boolean";
    key: KeysOf<boolean>;
    /** Booleans are off unless given. */
    description: string;
  };

/**
 * Every flag the store accepts, in help order. Adding a flag is adding an entry here (and its
 * field to {@linkcode StoreConfig}).
 */
export const STORE_FLAGS: readonly FlagSpec[] = [
  {
    name: "socket",
    type: "string",
    key: "socketPath",
    valueName: "PATH",
    bytesMax: SOCKET_PATH_BYTES_MAX,
    description: "path of the Unix socket clients connect to",
  },
  {
    name: "memory",
    type: "size",
    key: "memoryBytes",
    valueName: "SIZE",
    bytesMin: MEMORY_BYTES_MIN,
    description: "shared memory the store may use, e.g. 512MiB or 2G",
  },
  {
    name: "plasma-directory",
    type: "string",
    key: "plasmaDirectory",
    valueName: "DIR",
    default: PLASMA_DIRECTORY_DEFAULT,
    description: "directory whose filesystem backs the shared memory",
  },
  { name: "populate", type: "boolean", key: "populate", description: "pre-fault all memory at start-up" },
  { name: "hugepages", type: "boolean", key: "hugepages", description: "back the store with huge pages" },
  {
    name: "spill-directory",
    type: "string",
    key: "spillDirectory",
    valueName: "DIR",
    default: "",
    description:
      "spill sealed objects to files here when memory runs short (unset: no spilling; the store evicts like a cache)",
  },
  {
    name: "fallback-directory",
    type: "string",
    key: "fallbackDirectory",
    valueName: "DIR",
    default: "",
    description:
      "where objects that do not fit in memory are allocated as files (unset: the spill directory, else /tmp)",
  },
  { name: "no-fallback", type: "boolean", key: "noFallback", description: "never allocate objects in files" },
  {
    name: "full-delay-ms",
    type: "integer",
    key: "fullDelayMs",
    valueName: "MS",
    default: String(FULL_DELAY_MS_DEFAULT),
    min: 1,
    max: 60_000,
    description: "retry interval of a create waiting for memory",
  },
  {
    name: "oom-grace-ms",
    type: "integer",
    key: "oomGraceMs",
    valueName: "MS",
    default: String(OOM_GRACE_MS_DEFAULT),
    min: 0,
    max: 3_600_000,
    description: "how long a create may wait for memory before the fallback allocation",
  },
  {
    name: "client-memory",
    type: "size",
    key: "clientMemoryBytes",
    valueName: "SIZE",
    default: "0",
    description: "memory all clients together may make the store hold outside object memory (receive buffers " +
      "of large requests, notification backlogs), shared fairly; 0: max(256MiB, twice the largest request)",
  },
  {
    name: "socket-mode",
    type: "mode",
    key: "socketMode",
    valueName: "OCTAL",
    default: "600",
    description: "permission bits of the socket file, to share the store deliberately (e.g. 660)",
  },
  {
    name: "allow-uid",
    type: "ids",
    key: "allowUids",
    valueName: "UID[,UID...]",
    default: "",
    description: "only these users' processes may connect (checked with SO_PEERCRED; the store's own user always may)",
  },
  {
    name: "allow-gid",
    type: "ids",
    key: "allowGids",
    valueName: "GID[,GID...]",
    default: "",
    description: "processes whose primary group is one of these may connect too",
  },
  {
    name: "cluster",
    type: "string",
    key: "clusterUrl",
    valueName: "URL",
    default: "",
    description: "join a cluster whose directory is the Redis at redis://HOST:PORT (unset: a single node)",
  },
  {
    name: "node-address",
    type: "string",
    key: "nodeAddress",
    valueName: "HOST:PORT",
    default: "",
    description:
      "where this node's object manager listens for peers and what it advertises to them (required with --cluster; binds only there; a concrete IP, not 0.0.0.0)",
  },
  {
    name: "node-id",
    type: "string",
    key: "nodeId",
    valueName: "ID",
    default: "",
    bytesMax: 64,
    description: "this node's id in the cluster (unset: the node address)",
  },
  {
    name: "cluster-secret-file",
    type: "string",
    key: "clusterSecretFile",
    valueName: "FILE",
    default: "",
    description: "file with the secret peers must prove they know (unset: the node port is open to anyone)",
  },
  {
    name: "metrics-address",
    type: "string",
    key: "metricsAddress",
    valueName: "HOST:PORT",
    default: "",
    description: "serve Prometheus /metrics, /healthz and a dashboard at / on this address (port 0: any free port)",
  },
];

/** Largest numeric user or group id (2^32 - 2: -1 means "no id" to the kernel). */
const ID_MAX = 2 ** 32 - 2;

/**
 * Parses permission bits written in octal (`660`, `0660`, `0o660`).
 * @throws {FlagError} naming `flag` when the text is not octal or sets bits beyond 0o777
 */
export function parseSocketMode(text: string, flag: string): number {
  const match = /^(?:0o?)?([0-7]{1,3})$/.exec(text);
  if (match === null) {
    throw new FlagError(`${flag} takes permission bits in octal (e.g. 660), got ${JSON.stringify(text)}`);
  }
  return parseInt(match[1], 8);
}

/**
 * Parses a comma-separated list of numeric ids ("" = none).
 * @throws {FlagError} naming `flag` on anything but whole numbers up to 2^32 - 2
 */
export function parseIdList(text: string, flag: string): number[] {
  if (text === "") return [];
  return text.split(",").map((part) => {
    const id = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(id) || id > ID_MAX) {
      throw new FlagError(`${flag} takes numeric ids separated by commas, got ${JSON.stringify(text)}`);
    }
    return id;
  });
}

/** `--help` (or `-h`) is handled before the table: it prints help instead of filling the config. */
const HELP_FLAG = { name: "help", short: "h", description: "print this help and exit" } as const;

const USAGE_COMMAND = "deno run -A store.ts";

/**
 * Builds the `--help` text: a usage line, then every flag with its default, one per line.
 * @param flags the flag table (defaults to {@linkcode STORE_FLAGS})
 * @returns the help text, ending in a newline
 * @example
 * ```ts
 * console.log(storeHelpText());
 * ```
 */
export function storeHelpText(flags: readonly FlagSpec[] = STORE_FLAGS): string {
  const required = flags.filter(isRequired).map(flagSyntax);
  const lines = [`Usage: ${USAGE_COMMAND} ${[...required, "[options]"].join(" ")}`, "", "Options:"];
  const rows: [string, string][] = flags.map((flag) => [flagSyntax(flag), `${flag.description} ${defaultNote(flag)}`]);
  rows.push([`--${HELP_FLAG.name}, -${HELP_FLAG.short}`, HELP_FLAG.description]);
  const width = Math.max(...rows.map(([syntax]) => syntax.length)) + 2;
  for (const [syntax, text] of rows) lines.push(`  ${syntax.padEnd(width)}${text}`);
  lines.push("", "SIZE is bytes or a number with a unit: B, KiB, MiB, GiB, TiB (or K, M, G, T), KB, MB, GB, TB.");
  return `${lines.join("\n")}\n`;
}

/**
 * Parses the store's command line.
 * @param args the arguments after the script name (`Deno.args`)
 * @returns `{ kind: "help" }` when `--help` or `-h` is present, else the complete configuration
 * @throws {FlagError} on an unknown flag, a missing or ambiguous value, a value given to a
 *   boolean flag, a repeated flag, a positional argument, a missing required flag, or a value
 *   out of range (bad size, socket path over 107 bytes, memory under 1 MiB)
 * @example
 * ```ts
 * const result = parseStoreFlags(["--socket", "/tmp/plasma", "--memory", "1GiB"]);
 * if (result.kind === "config") console.log(result.config.memoryBytes); // 1073741824
 * ```
 */
export function parseStoreFlags(args: string[]): StoreFlagsResult {
  const result = parseFlags(args, STORE_FLAGS);
  if (result.kind === "config") checkMetricsAddress(result.config.metricsAddress);
  return result;
}

/** Refuses a `--metrics-address` that is not HOST:PORT at parse time, with the flag's one-line error. */
export function checkMetricsAddress(text: string): void {
  if (text === "") return;
  try {
    parseMetricsAddress(text);
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
}

/**
 * {@linkcode parseStoreFlags} against any flag table (so table-driven behaviour can be tested
 * with made-up flags). `--help`/`-h` is always accepted.
 * @param args the command-line arguments
 * @param flags the flag table; each entry's `key` is the config field it fills
 * @returns help text, or a config object with one field per table entry
 * @throws {FlagError} as {@linkcode parseStoreFlags} does
 * @example
 * ```ts
 * parseFlags(["--populate"], STORE_FLAGS.filter((flag) => flag.type === "boolean"));
 * // { kind: "config", config: { populate: true, hugepages: false } }
 * ```
 */
export function parseFlags(args: string[], flags: readonly FlagSpec[]): StoreFlagsResult {
  const specs = new Map(flags.map((flag) => [flag.name, flag]));
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    [HELP_FLAG.name]: { type: "boolean", short: HELP_FLAG.short },
  };
  for (const flag of flags) options[flag.name] = { type: flag.type === "boolean" ? "boolean" : "string" };
  // Non-strict with tokens: we report errors ourselves, one line each, naming the flag.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });

  if (tokens.some((token) => token.kind === "option" && token.name === HELP_FLAG.name)) {
    return { kind: "help", text: storeHelpText(flags) };
  }
  const given = new Map<string, string | true>();
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      throw new FlagError(`unexpected argument ${JSON.stringify(token.value)}: every setting is a --flag`);
    }
    const spec = specs.get(token.name);
    if (spec === undefined) throw new FlagError(`unknown flag ${token.rawName}`);
    if (given.has(spec.name)) throw new FlagError(`--${spec.name} is given more than once`);
    given.set(spec.name, tokenValue(spec, token.value, token.inlineValue));
  }

  const config: Record<string, unknown> = {};
  for (const spec of flags) config[spec.key] = flagValue(spec, given.get(spec.name));
  return { kind: "config", config: config as unknown as StoreConfig };
}

/** Checks a token's value has the flag's shape: present for value flags, absent for booleans. */
function tokenValue(spec: FlagSpec, value: string | undefined, inline: boolean | undefined): string | true {
  if (spec.type === "boolean") {
    if (value !== undefined) throw new FlagError(`--${spec.name} takes no value, got ${JSON.stringify(value)}`);
    return true;
  }
  // `--socket --memory 1G` would otherwise take "--memory" as the socket path.
  if (value === undefined || (!inline && value.startsWith("-"))) {
    throw new FlagError(`--${spec.name} needs a value: --${spec.name} ${spec.valueName}`);
  }
  return value;
}

/** The config value for one flag: the given text converted and range-checked, or its default. */
function flagValue(spec: FlagSpec, given: string | true | undefined): unknown {
  if (spec.type === "boolean") return given === true;
  const text = given === undefined ? spec.default : given;
  if (typeof text !== "string") {
    throw new FlagError(`missing required --${spec.name} ${spec.valueName}`);
  }
  if (spec.type === "size") return sizeValue(spec, text);
  if (spec.type === "integer") return integerValue(spec, text);
  if (spec.type === "mode") return parseSocketMode(text, `--${spec.name}`);
  if (spec.type === "ids") return parseIdList(text, `--${spec.name}`);
  // An optional string flag's default is "" (unset); a value given explicitly must not be empty.
  return given === undefined ? text : stringValue(spec, text);
}

function integerValue(spec: Extract<FlagSpec, { type: "integer" }>, text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw new FlagError(
      `--${spec.name} takes a whole number from ${spec.min} to ${spec.max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function sizeValue(spec: Extract<FlagSpec, { type: "size" }>, text: string): number {
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch (error) {
    throw new FlagError(`--${spec.name}: ${(error as Error).message}`);
  }
  if (spec.bytesMin !== undefined && bytes < spec.bytesMin) {
    throw new FlagError(
      `--${spec.name} ${text} is ${formatSize(bytes)}, below the minimum of ${formatSize(spec.bytesMin)}`,
    );
  }
  return bytes;
}

function stringValue(spec: Extract<FlagSpec, { type: "string" }>, text: string): string {
  if (text === "") throw new FlagError(`--${spec.name} must not be empty`);
  if (text.includes("\0")) throw new FlagError(`--${spec.name} must not contain NUL bytes`);
  const bytes = new TextEncoder().encode(text).length;
  if (spec.bytesMax !== undefined && bytes > spec.bytesMax) {
    throw new FlagError(`--${spec.name} is ${bytes} bytes long; the limit is ${spec.bytesMax} (choose a shorter path)`);
  }
  return text;
}

function isRequired(flag: FlagSpec): boolean {
  return flag.type !== "boolean" && flag.default === undefined;
}

function flagSyntax(flag: FlagSpec): string {
  return flag.type === "boolean" ? `--${flag.name}` : `--${flag.name} ${flag.valueName}`;
}

function defaultNote(flag: FlagSpec): string {
  if (flag.type === "boolean") return "(default: off)";
  if (flag.default === undefined) return "(required)";
  return flag.default === "" ? "(default: unset)" : `(default: ${flag.default})`;
}

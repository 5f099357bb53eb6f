/**
 * The command line of Arrow's `plasma-store-server` (`-m BYTES -s SOCKET [-d DIR] [-h]
 * [-e ENDPOINT]`, gflags style: `-m 100`, `-m=100`, `--m=100`), mapped onto our configuration
 * with Arrow's semantics: no fallback files (a full store answers OutOfMemory), memory in plain
 * bytes. Arrow's only built-in external store, `hashtable://`, becomes our spilling: evicted
 * objects go to files and come back on get, as they came back from Arrow's in-memory table.
 * @module
 */
import { FULL_DELAY_MS_DEFAULT } from "../store/constants.ts";
import {
  checkMetricsAddress,
  FlagError,
  NO_CLUSTER,
  parseIdList,
  parseSocketMode,
  PLASMA_DIRECTORY_DEFAULT,
  SOCKET_PATH_BYTES_MAX,
  type StoreConfig,
} from "./store_flags.ts";

export const ARROW_USAGE = `Shared-memory object store, started the way pyarrow starts Arrow's plasma-store-server.
Usage: plasma-store-server -m BYTES -s SOCKET [-d DIRECTORY] [-h] [-e hashtable://NAME]
  -m BYTES      memory the store may use, in bytes (digits only)
  -s SOCKET     Unix socket path clients connect to
  -d DIRECTORY  directory whose filesystem backs the memory (default ${PLASMA_DIRECTORY_DEFAULT})
  -h            back the memory with huge pages (then -d names a hugetlbfs mount)
  -e ENDPOINT   external store for evicted objects: hashtable://NAME keeps them in a private
                spill directory (removed at exit) and restores them on get
  --metrics-address HOST:PORT
                serve Prometheus /metrics, /healthz and a dashboard at / (not in Arrow's server)
Access control (long flags Arrow's server does not have):
  --socket-mode=OCTAL         permission bits of the socket file (default 600)
  --allow-uid=UID[,UID...]    only these users' processes may connect (besides the store's user)
  --allow-gid=GID[,GID...]    processes whose primary group is one of these may connect too`;

const VALUE_FLAGS = new Set(["m", "s", "d", "e", "metrics-address", "socket-mode", "allow-uid", "allow-gid"]);

/** Splits gflags-style arguments into name -> value ("true" for a bare boolean flag). */
function splitFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let index = 0; index < args.length; index++) {
    const match = /^--?([A-Za-z][A-Za-z-]*)(?:=(.*))?$/.exec(args[index]);
    if (match === null) throw new FlagError(`unexpected argument ${JSON.stringify(args[index])}`);
    const [, name, inline] = match;
    if (VALUE_FLAGS.has(name) && inline === undefined) {
      if (index + 1 >= args.length) throw new FlagError(`-${name} needs a value`);
      flags.set(name, args[++index]);
    } else {
      flags.set(name, inline ?? "true");
    }
  }
  return flags;
}

function parseBytes(text: string): number {
  if (!/^\d+$/.test(text)) throw new FlagError("-m takes memory in bytes, with no letter suffix allowed");
  const bytes = Number(text);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new FlagError(`-m ${text} is not a usable size`);
  return bytes;
}

/** Parses Arrow's flags into help or a configuration; throws FlagError with a one-line reason. */
export function parseArrowFlags(
  args: string[],
): { kind: "help"; text: string } | { kind: "config"; config: StoreConfig; externalStore: string } {
  const flags = splitFlags(args);
  if (flags.has("help") || flags.has("helpshort")) return { kind: "help", text: ARROW_USAGE };
  for (const name of flags.keys()) {
    if (!VALUE_FLAGS.has(name) && name !== "h") throw new FlagError(`unknown flag -${name}`);
  }
  const externalStore = flags.get("e") ?? "";
  if (externalStore !== "" && !externalStore.startsWith("hashtable://")) {
    throw new FlagError(`no such external store "${externalStore.split("://")[0]}" (only hashtable:// is supported)`);
  }
  const socketPath = flags.get("s");
  const memory = flags.get("m");
  if (socketPath === undefined && memory === undefined) {
    throw new FlagError(
      "please specify socket for incoming connections with -s, and the amount of memory (in bytes) to use with -m",
    );
  }
  if (socketPath === undefined || socketPath === "") {
    throw new FlagError("please specify socket for incoming connections with -s");
  }
  if (memory === undefined) throw new FlagError("please specify the amount of memory (in bytes) to use with -m");
  if (new TextEncoder().encode(socketPath).length > SOCKET_PATH_BYTES_MAX) {
    throw new FlagError(`socket path longer than ${SOCKET_PATH_BYTES_MAX} bytes`);
  }
  const hugepages = flags.get("h") === "true";
  const metricsAddress = flags.get("metrics-address") ?? "";
  checkMetricsAddress(metricsAddress);
  return {
    kind: "config",
    config: {
      socketPath,
      memoryBytes: parseBytes(memory),
      plasmaDirectory: flags.get("d") ?? PLASMA_DIRECTORY_DEFAULT,
      populate: false,
      hugepages,
      spillDirectory: "",
      fallbackDirectory: "",
      noFallback: true,
      fullDelayMs: FULL_DELAY_MS_DEFAULT,
      oomGraceMs: 0,
      clientMemoryBytes: 0,
      ...NO_CLUSTER,
      metricsAddress,
      socketMode: parseSocketMode(flags.get("socket-mode") ?? "600", "--socket-mode"),
      allowUids: parseIdList(flags.get("allow-uid") ?? "", "--allow-uid"),
      allowGids: parseIdList(flags.get("allow-gid") ?? "", "--allow-gid"),
    },
    externalStore,
  };
}

/**
 * Checks the store runs before it starts: that --memory fits the plasma directory's free space,
 * and that the socket path is free (or a stale socket we may replace). A failed check is a
 * `StartupError` whose message says what to change; nothing here replaces a live store's socket
 * or anything that is not a socket.
 * @module
 */
import { dirname } from "node:path";
import { closeFd, filesystemSpace } from "../../ffi/shared_memory.ts";
import { NativeError } from "../../ffi/status.ts";
import { connectUnix } from "../../ffi/unix_socket.ts";
import { formatSize } from "./sizes.ts";
import { MEMORY_BYTES_MIN, PLASMA_DIRECTORY_DEFAULT, type StoreConfig } from "./store_flags.ts";

/** Share of the plasma directory's free space the store may take (Ray leaves the same headroom). */
export const FREE_SPACE_FRACTION_USABLE = 0.9;

/** The store cannot start as configured; the message says why and what to change. */
export class StartupError extends Error {
  /**
   * @param message what is wrong and how to fix it
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** How much memory the store gets, decided from what was asked and what is free. */
export type CapacityDecision =
  /** The request fits (or huge pages are used, which this free space does not limit). */
  | { kind: "fits"; memoryBytes: number }
  /** The request did not fit and was lowered to the usable share of the free space. */
  | { kind: "clamped"; memoryBytes: number }
  /** Even the usable share of the free space is below the minimum store size. */
  | { kind: "too_small"; memoryBytes: number };

/**
 * Decides the store's capacity: the request if it is at most 90% of the free space, else 90% of
 * the free space, unless that is below 1 MiB. With huge pages the request is kept as is, since
 * huge pages do not come out of the plasma directory's free space.
 * @param requestedBytes what --memory asked for
 * @param freeBytes free bytes of the plasma directory's filesystem
 * @param hugepages whether --hugepages was given
 * @returns the decision and the bytes the store would get
 * @example
 * ```ts
 * decideCapacity(8 << 30, 4 << 30, false); // { kind: "clamped", memoryBytes: 3865470566 }
 * ```
 */
export function decideCapacity(requestedBytes: number, freeBytes: number, hugepages: boolean): CapacityDecision {
  if (!Number.isSafeInteger(requestedBytes) || requestedBytes < 0) {
    throw new RangeError(`requestedBytes must be a non-negative safe integer, got ${requestedBytes}`);
  }
  if (!(freeBytes >= 0)) throw new RangeError(`freeBytes must be non-negative, got ${freeBytes}`);
  if (hugepages) return { kind: "fits", memoryBytes: requestedBytes };
  const usableBytes = Math.floor(freeBytes * FREE_SPACE_FRACTION_USABLE);
  if (requestedBytes <= usableBytes) return { kind: "fits", memoryBytes: requestedBytes };
  // Below here usableBytes < requestedBytes, so it is a safe integer too.
  if (usableBytes < MEMORY_BYTES_MIN) return { kind: "too_small", memoryBytes: usableBytes };
  return { kind: "clamped", memoryBytes: usableBytes };
}

/**
 * Checks --memory against the free space of the plasma directory, clamping it to 90% of the free
 * space with a warning when it does not fit.
 * @param config the parsed command line
 * @returns the memory the store should use, and warnings to print (empty when all is well)
 * @throws {StartupError} when the directory is missing, not a directory, unreadable, or has less
 *   than about 1.1 MiB free
 * @example
 * ```ts
 * const { memoryBytes, warnings } = checkCapacity(config);
 * for (const warning of warnings) console.error(`plasma store: warning: ${warning}`);
 * ```
 */
export function checkCapacity(config: StoreConfig): { memoryBytes: number; warnings: string[] } {
  const directory = config.plasmaDirectory;
  requireDirectory(directory, "--plasma-directory");
  let freeBytes: number;
  try {
    freeBytes = filesystemSpace(directory).freeBytes;
  } catch (error) {
    throw new StartupError(`Cannot read the free space of --plasma-directory ${directory}: ${message(error)}`, {
      cause: error,
    });
  }
  const decision = decideCapacity(config.memoryBytes, freeBytes, config.hugepages);
  const free = `${directory} has only ${formatSize(freeBytes)} free`;
  const percent = `${Math.round(FREE_SPACE_FRACTION_USABLE * 100)}%`;
  const fix = directory === PLASMA_DIRECTORY_DEFAULT
    ? "Give the container a bigger /dev/shm (e.g. docker --shm-size)"
    : `Free space in ${directory}`;
  switch (decision.kind) {
    case "fits":
      return { memoryBytes: decision.memoryBytes, warnings: [] };
    case "clamped":
      return {
        memoryBytes: decision.memoryBytes,
        warnings: [
          `--memory ${formatSize(config.memoryBytes)} is more than ${percent} of the free space; ${free}: ` +
          `the store will use ${formatSize(decision.memoryBytes)}. ${fix} or pass a smaller --memory.`,
        ],
      };
    case "too_small":
      throw new StartupError(
        `${free}, so the store would get ${formatSize(decision.memoryBytes)}, ` +
          `below the minimum of ${formatSize(MEMORY_BYTES_MIN)}. ${fix} or choose another --plasma-directory.`,
      );
  }
}

/**
 * Checks that the store may bind `path`: its directory exists and is writable, and nothing is
 * there, or a stale socket is there, which this removes. Never removes anything but a socket
 * nobody listens on.
 * @param path the --socket path
 * @returns `"free"` when nothing was there, `"stale"` when a dead store's socket was removed
 * @throws {StartupError} when the directory is missing or not writable, the path is not a socket,
 *   or another store is listening on it
 * @example
 * ```ts
 * if (await checkSocketPath(config.socketPath) === "stale") console.error("removed a stale socket");
 * ```
 */
export async function checkSocketPath(path: string): Promise<"free" | "stale"> {
  const directory = dirname(path);
  requireDirectory(directory, "The socket's directory");
  await requireWritable(directory);

  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "free";
    throw new StartupError(`Cannot inspect --socket ${path}: ${message(error)}`, { cause: error });
  }
  if (!info.isSocket) {
    throw new StartupError(`--socket ${path} exists and is not a socket; refusing to replace it`);
  }
  return await replaceIfStale(path);
}

/** Connects to the socket at `path`: a live store answers; a refused connection means stale. */
async function replaceIfStale(path: string): Promise<"free" | "stale"> {
  let fd: number;
  try {
    // Non-blocking: a live store with a full backlog answers would_block instead of hanging us.
    fd = connectUnix(path, { nonBlocking: true });
  } catch (error) {
    if (!(error instanceof NativeError)) throw error;
    switch (error.status) {
      case "connection_refused":
        break;
      case "would_block":
        throw liveStore(path);
      case "not_found":
        return "free"; // Removed between lstat and connect.
      default:
        throw new StartupError(`Cannot check whether a store listens on ${path}: ${message(error)}`, {
          cause: error,
        });
    }
    try {
      await Deno.remove(path);
    } catch (removeError) {
      if (removeError instanceof Deno.errors.NotFound) return "stale";
      throw new StartupError(`Cannot remove the stale socket ${path}: ${message(removeError)}`, { cause: removeError });
    }
    return "stale";
  }
  closeFd(fd);
  throw liveStore(path);
}

function liveStore(path: string): StartupError {
  return new StartupError(`another store is listening on ${path}; stop it or choose another --socket`);
}

/** Throws a StartupError unless `directory` exists and is a directory (symlinks followed). */
function requireDirectory(directory: string, label: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(directory);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new StartupError(`${label} ${directory} does not exist`);
    throw new StartupError(`Cannot inspect ${label} ${directory}: ${message(error)}`, { cause: error });
  }
  if (!info.isDirectory) throw new StartupError(`${label} ${directory} is not a directory`);
}

/**
 * Throws a StartupError unless we can create files in `directory`. Deno has no access(2), and
 * mode bits miss ACLs, read-only mounts and root, so this creates and removes a probe file.
 */
async function requireWritable(directory: string): Promise<void> {
  let probe: string;
  try {
    probe = await Deno.makeTempFile({ dir: directory, prefix: ".plasma-store-probe-" });
  } catch (error) {
    throw new StartupError(`The socket's directory ${directory} is not writable: ${message(error)}`, {
      cause: error,
    });
  }
  await Deno.remove(probe);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks the spill and fallback directories the store will write to: each must exist and be
 * writable, so a typo fails at start-up instead of at the first spill.
 * @param config the parsed flags
 * @throws {StartupError} naming the flag and the directory
 */
export async function checkDiskDirectories(config: StoreConfig): Promise<void> {
  const directories: [string, string][] = [
    ["--spill-directory", config.spillDirectory],
    ["--fallback-directory", config.fallbackDirectory],
  ];
  for (const [label, directory] of directories) {
    if (directory === "") continue;
    requireDirectory(directory, label);
    await requireWritable(directory);
  }
}

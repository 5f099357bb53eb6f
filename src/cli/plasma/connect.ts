/**
 * How the `plasma` CLI reaches a store: one connection, no retries, and an error that names the
 * socket and says what is wrong there (no file, not a socket, nothing listening, no permission).
 * @module
 */
import { NativeError } from "../../../ffi/status.ts";
import { PlasmaClient } from "../../client/mod.ts";

/** A failure the CLI reports as one line and exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Why a connect failed, by the native status the socket layer gave. */
const CONNECT_FAILURES: Record<string, string> = {
  not_found: "no such socket (is the store running?)",
  connection_refused: "nothing is listening there (a stale socket: the store stopped)",
  permission_denied: "permission denied",
  not_a_socket: "not a Unix socket",
  name_too_long: "the path is too long for a Unix socket (107 bytes at most)",
};

/**
 * Connects to the store at `socketPath` once.
 * @throws {CliError} naming the socket and the reason when no store answers there
 */
export async function connectToStore(socketPath: string): Promise<PlasmaClient> {
  try {
    return await PlasmaClient.connect(socketPath, { retries: 0 });
  } catch (error) {
    const cause = (error as Error).cause;
    const reason = cause instanceof NativeError
      ? CONNECT_FAILURES[await refinedStatus(socketPath, cause.status)] ?? cause.status.replaceAll("_", " ")
      : (error as Error).message;
    throw new CliError(`cannot connect to the store at ${socketPath}: ${reason}`);
  }
}

/** Connecting to a file that is not a socket is refused like a stale socket; tell the two apart. */
async function refinedStatus(socketPath: string, status: string): Promise<string> {
  if (status !== "connection_refused") return status;
  const info = await Deno.lstat(socketPath).catch(() => null);
  return info !== null && info.isSocket === false ? "not_a_socket" : status;
}

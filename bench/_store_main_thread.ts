/**
 * The store's server on the main thread (no Worker), so `deno run --cpu-prof` profiles the store's
 * own thread: `deno run -A --cpu-prof bench/_store_main_thread.ts SOCKET`. Stops on SIGTERM/SIGINT.
 * Private to bench/: a profiling aid, not a way to run the store.
 * @module
 */
import { StoreServer } from "../src/store/store_server.ts";
import { FULL_DELAY_MS_DEFAULT, OOM_GRACE_MS_DEFAULT } from "../src/store/constants.ts";

const socketPath = Deno.args[0];
if (!socketPath) throw new RangeError("usage: _store_main_thread.ts SOCKET");
const server = new StoreServer({
  socketPath,
  capacityBytes: 512 * 1024 * 1024,
  directory: "/dev/shm",
  populate: false,
  hugepages: false,
  fullDelayMs: FULL_DELAY_MS_DEFAULT,
  oomGraceMs: OOM_GRACE_MS_DEFAULT,
});
const stop = () => void server.stop();
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
console.log(`listening on ${socketPath}`);
await server.start();
Deno.removeSignalListener("SIGTERM", stop);
Deno.removeSignalListener("SIGINT", stop);

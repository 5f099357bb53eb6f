/**
 * A client process for store_server_test.ts: puts an object with the id given (or a random one),
 * then asks for stats, and prints one JSON line of what happened. It never throws.
 * @module
 */
import { ObjectId, PlasmaClient } from "../client/mod.ts";

const [socketPath, idHex] = Deno.args;
const outcome: Record<string, unknown> = {};
try {
  await using client = await PlasmaClient.connect(socketPath);
  const id = idHex ? ObjectId.fromHex(idHex) : ObjectId.random();
  try {
    await client.put(new Uint8Array([1, 2, 3]), { id });
    const [object] = await client.get([id], { timeoutMs: 0 });
    outcome.readBack = [...object!.data];
    await client.release(id);
    const stats = await client.stats();
    outcome.numServeErrors = stats.numServeErrors;
    outcome.numClients = stats.numClients;
  } catch (error) {
    outcome.error = (error as Error).name;
  }
} catch (error) {
  outcome.error = `connect: ${(error as Error).name}`;
}
console.log(JSON.stringify(outcome));

/**
 * A TypeScript client that the kill test SIGKILLs at a random moment: `_victim.ts SOCKET SEED
 * ID_HEX...`. It holds what a client can hold (unsealed creates, references to the shared
 * objects, a get that waits forever) and nothing that outlives it, so after its death the store
 * must be back at its baseline.
 */
import { ObjectId, PlasmaClient } from "../../src/client/mod.ts";
import { seededRandom } from "./_store_probe.ts";

const [socketPath, seedText, ...sharedHex] = Deno.args;
const random = seededRandom(Number(seedText));
const shared = sharedHex.map((hex) => ObjectId.fromHex(hex));
const client = await PlasmaClient.connect(socketPath);
const waiter = await PlasmaClient.connect(socketPath);
// A get that never completes: the store holds it until this process dies.
void waiter.get([ObjectId.random()], { timeoutMs: -1 }).catch(() => {});
for (let step = 0;; step++) {
  const choice = random();
  if (choice < 0.3) {
    await client.create(ObjectId.random(), 1 + Math.floor(random() * 256 * 1024));
  } else if (choice < 0.6 && shared.length > 0) {
    await client.get([shared[Math.floor(random() * shared.length)]], { timeoutMs: 0 });
  } else if (choice < 0.7) {
    const id = ObjectId.random();
    await client.create(id, 1024);
    await client.abort(id);
  } else {
    await client.stats();
  }
  if (step === 20) console.log("ready");
  if (step > 200) await new Promise((resolve) => setTimeout(resolve, 5));
}

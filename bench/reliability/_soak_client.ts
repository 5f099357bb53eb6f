/**
 * One process of the soak: `_soak_client.ts SOCKET CLIENTS SECONDS SEED` opens CLIENTS
 * connections, prints "ready", then cycles put/get/release/delete over them, picked at random,
 * until SECONDS pass; prints "ops=N".
 */
import { PlasmaClient } from "../../src/client/mod.ts";
import { seededRandom } from "./_store_probe.ts";

const [socketPath, clientsText, secondsText, seedText] = Deno.args;
const random = seededRandom(Number(seedText));
const clients: PlasmaClient[] = [];
for (let index = 0; index < Number(clientsText); index++) clients.push(await PlasmaClient.connect(socketPath));
console.log("ready");
const deadline = performance.now() + Number(secondsText) * 1000;
let ops = 0;
while (performance.now() < deadline) {
  const client = clients[Math.floor(random() * clients.length)];
  const id = await client.put(new Uint8Array(1 + Math.floor(random() * 4096)));
  const [object] = await client.get([id], { timeoutMs: 0 });
  if (object === null) throw new Error(`object ${id} missing right after its put`);
  await client.release(id);
  await client.delete([id]);
  ops += 4;
  if (ops % 4_000 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
}
for (const client of clients) client.close();
console.log(`ops=${ops}`);

/**
 * CPU time (of this process, all threads) of the store core's object operations alone (no sockets): create+seal+release and
 * get(key)+addReference+removeReference, in ns per pair, with N objects resident. With
 * `--compare OTHER_CHECKOUT` the same loop runs against that checkout's core, alternating rounds,
 * so a representation change is measured against its predecessor in one run.
 * Usage: deno run -A bench/object_core_bench.ts [--resident 100000] [--rounds 5] [--compare DIR]
 * @module
 */
import { parseArgs } from "node:util";
import { median, processCpuMs } from "./_measure.ts";

const ROOT_DIR = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const OPS = 200_000;
const OBJECT_BYTES = 64;

interface Core {
  withCore(options: { capacityBytes: number }, body: (parts: CoreParts) => void): Promise<void>;
  newObject(text: string, dataSize: number): { key: string };
}

interface Handle {
  key: string;
  sealed: boolean;
}

interface CoreParts {
  lifecycle: {
    create(spec: unknown): Handle | number;
    seal(object: Handle): void;
    get(key: string): Handle | undefined;
    delete(object: Handle): number;
    addReference(object: Handle, holder: Set<string>): boolean;
    removeReference(object: Handle, holder: Set<string>): boolean;
  };
}

function mustCreate(parts: CoreParts, core: Core, name: string): Handle {
  const object = parts.lifecycle.create(core.newObject(name, OBJECT_BYTES));
  if (typeof object === "number") throw new Error(`create of ${name} failed with code ${object}`);
  return object;
}

/** ns per create+seal+release+delete and per get+reference+release, with `resident` objects in the store. */
async function round(root: string, resident: number): Promise<{ createNs: number; getNs: number }> {
  const core = await import(`${root}/src/store/_core_fixture.ts`) as Core;
  let createNs = 0;
  let getNs = 0;
  await core.withCore({ capacityBytes: 1024 * 1024 * 1024 }, (parts) => {
    const { lifecycle } = parts;
    const holder = new Set<string>();
    const keys: string[] = [];
    for (let index = 0; index < resident; index++) {
      const object = mustCreate(parts, core, `resident-${index}`);
      lifecycle.seal(object);
      keys.push(object.key);
    }
    const names = Array.from({ length: OPS }, (_, index) => `churn-${index}`);
    // CPU time of this process (every thread: GC included), not wall time: the machine is shared.
    let start = processCpuMs("self");
    for (const name of names) {
      const object = mustCreate(parts, core, name);
      lifecycle.addReference(object, holder);
      lifecycle.seal(object);
      lifecycle.removeReference(object, holder);
      lifecycle.delete(object);
    }
    createNs = ((processCpuMs("self") - start) * 1e6) / OPS;
    start = processCpuMs("self");
    for (let op = 0; op < OPS; op++) {
      const object = lifecycle.get(keys[(op * 7919) % keys.length])!;
      lifecycle.addReference(object, holder);
      lifecycle.removeReference(object, holder);
    }
    getNs = ((processCpuMs("self") - start) * 1e6) / OPS;
  });
  return { createNs, getNs };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    resident: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    compare: { type: "string" },
  },
});
const stores: Record<string, string> = { this: ROOT_DIR };
if (values.compare) stores.other = values.compare;
const results: Record<string, { createNs: number; getNs: number }[]> = { this: [], other: [] };
for (let index = 0; index < Number(values.rounds); index++) {
  const order = index % 2 === 0 ? Object.keys(stores) : Object.keys(stores).reverse();
  for (const name of order) results[name].push(await round(stores[name], Number(values.resident)));
}
const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
console.log(`object core bench: ${values.resident} resident, ${OPS} ops per loop; load average ${load}`);
for (const name of Object.keys(stores)) {
  const create = results[name].map((result) => result.createNs);
  const get = results[name].map((result) => result.getNs);
  console.log(
    `${name.padEnd(6)} create+seal+release+delete ${median(create).toFixed(0).padStart(6)} ns [${
      create.map((v) => v.toFixed(0)).join(" ")
    }]   get+reference+release ${median(get).toFixed(0).padStart(5)} ns [${get.map((v) => v.toFixed(0)).join(" ")}]`,
  );
}

/**
 * The store's module structure: no import circle in src/store/, and the core never imports the
 * server's side (sessions, dialects, handlers, the server), so it cannot write to a socket.
 * @module
 */
import assert from "node:assert/strict";

const STORE_DIR = new URL("./", import.meta.url);

/** Files of the server's side, which the core must not import. */
const EDGE_FILES = [
  "store_server.ts",
  "client_session.ts",
  "dialect.ts",
  "handlers.ts",
  "ray_dialect.ts",
  "ray_replies.ts",
  "validation.ts",
  "inspection.ts",
];

/** Every .ts file under src/store/ (tests excluded), as paths relative to it. */
function storeFiles(dir = STORE_DIR, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) files.push(...storeFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(prefix + entry.name);
  }
  return files;
}

/** The files under src/store/ that `file` imports (type-only imports included). */
function storeImports(file: string): string[] {
  const source = Deno.readTextFileSync(new URL(file, STORE_DIR));
  const imports: string[] = [];
  for (const match of source.matchAll(/(?:import|export)[^;]*?from "(\.[^"]+)"/gs)) {
    const target = new URL(match[1], new URL(file, STORE_DIR));
    if (!target.href.startsWith(STORE_DIR.href)) continue;
    imports.push(target.href.slice(STORE_DIR.href.length));
  }
  return imports;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === "done") return null;
    if (state.get(file) === "visiting") return [...path.slice(path.indexOf(file)), file];
    state.set(file, "visiting");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, "done");
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

Deno.test("src/store/ has no import circle, type-only imports included", () => {
  const graph = new Map(storeFiles().map((file) => [file, storeImports(file)]));
  assert.ok(graph.size > 20, `found only ${graph.size} files`);
  assert.equal(findCycle(graph)?.join(" -> ") ?? null, null);
});

Deno.test("the core imports nothing of the server's side", () => {
  const core = storeFiles().filter((file) => !EDGE_FILES.includes(file) && !file.startsWith("arrow/"));
  assert.ok(core.includes("plasma_store.ts") && core.includes("get_request_queue.ts"));
  for (const file of core) {
    const edge = storeImports(file).filter((target) => EDGE_FILES.includes(target) || target.startsWith("arrow/"));
    assert.deepEqual(edge, [], `${file} imports the server's side`);
  }
});

Deno.test("the cycle finder finds a circle when there is one", () => {
  const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]]]);
  assert.deepEqual(findCycle(graph), ["a.ts", "b.ts", "c.ts", "a.ts"]);
});

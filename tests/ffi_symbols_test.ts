import assert from "node:assert/strict";
import { native, nativeLibraryPath } from "../ffi/library.ts";
import { STATUS_NAMES } from "../ffi/status.ts";
import { SYMBOLS } from "../ffi/symbols.ts";

async function exportedSymbols(): Promise<string[]> {
  const output = await new Deno.Command("nm", { args: ["-D", "--defined-only", nativeLibraryPath()] }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).split("\n")
    .map((line) => line.trim().split(/\s+/).at(-1) ?? "")
    .filter((name) => name.startsWith("plasma_"))
    .sort();
}

Deno.test("the symbol table names exactly the library's exports", async () => {
  const declared = new Set(
    Object.entries(SYMBOLS).map(([key, spec]) => ("name" in spec ? spec.name : key)),
  );
  assert.deepEqual([...declared].sort(), await exportedSymbols());
});

Deno.test("the status table has one name per native status code", () => {
  assert.equal(STATUS_NAMES.length, native().plasma_status_count());
});

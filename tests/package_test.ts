/** The client as a package: publishable to JSR, and independent of the store's code. */
import assert from "node:assert/strict";
import { REPO } from "./_store_fixture.ts";

Deno.test("deno publish --dry-run passes (no slow types, every file included)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: REPO,
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  assert.ok(output.success, text);
  assert.match(text, /Success/);
});

Deno.test("the client module imports nothing from the store, the runner or the CLI", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${REPO}src/client/mod.ts`],
    cwd: REPO,
  }).output();
  assert.ok(output.success);
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: { specifier: string }[] };
  const local = graph.modules.map((module) => module.specifier).filter((specifier) => specifier.startsWith("file:"));
  assert.ok(local.some((specifier) => specifier.endsWith("/src/client/plasma_client.ts")));
  const forbidden = local.filter((specifier) => /\/src\/(store|runner|cli)\//.test(specifier));
  assert.deepEqual(forbidden, []);
});

/**
 * Arrow tables shared between TypeScript and real pyarrow processes through a live store, in the
 * IPC stream format, with the zero-copy claim checked on both sides: every column buffer of a
 * table read back lies inside the object's bytes in the store's shared mapping.
 */
import assert from "node:assert/strict";
import { type Data, DataType, Dictionary, Int32, Table, tableFromArrays, Utf8, vectorFromArray } from "apache-arrow";
import { ObjectId, PlasmaClient } from "../src/client/mod.ts";
import { PlasmaTables } from "../src/tables/mod.ts";
import { outputOf, REPO, withStore } from "./_store_fixture.ts";

const PYTHON = `${REPO}.venv/bin/python`;

function pyarrowTables(socketPath: string, role: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(PYTHON, {
    args: [`${REPO}tests/fixtures/pyarrow_tables.py`, socketPath, role, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Every non-empty buffer of a column chunk (values, offsets, validity), children included. */
function buffersOf(data: Data): Uint8Array[] {
  const own = [data.values, data.valueOffsets, data.nullBitmap]
    .filter((view): view is NonNullable<typeof view> => view != null && view.byteLength > 0)
    .map((view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return [...own, ...data.children.flatMap(buffersOf)];
}

Deno.test("a table put from TypeScript is read by pyarrow with open_stream, its columns in the store's shared memory", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const rows = 1000;
    const table = tableFromArrays({
      id: BigInt64Array.from({ length: rows }, (_, index) => BigInt(index)),
      score: Float64Array.from({ length: rows }, (_, index) => index * 0.25),
      name: Array.from({ length: rows }, (_, index) => `name-${index}`),
    });
    // A 20-byte id: the only length pyarrow's client accepts.
    const id = await new PlasmaTables(client).putTable(table, { id: ObjectId.random() });
    const [line] = await outputOf(pyarrowTables(socketPath, "get", id.toHex()));
    const seen = JSON.parse(line);
    assert.deepEqual(seen.columns, ["id", "score", "name"]);
    assert.equal(seen.rows, rows);
    assert.deepEqual(seen.data.id.slice(0, 3), [0, 1, 2]);
    assert.equal(seen.data.score[999], 249.75);
    assert.equal(seen.data.name[42], "name-42");
    assert.equal(seen.insideObject, true, "pyarrow copied a column out of the object");
    // The store's memory: an unlinked file in /dev/shm (or a memfd), never anonymous memory.
    assert.equal(seen.mappings.length, 1);
    assert.match(seen.mappings[0], /^(\/dev\/shm\/|\/memfd:)/);
  });
});

Deno.test("a table put by pyarrow is read in TypeScript without copying any column buffer", async () => {
  await withStore(async ({ socketPath }) => {
    const [hex] = await outputOf(pyarrowTables(socketPath, "put", "500"));
    const id = ObjectId.fromHex(hex);
    await using client = await PlasmaClient.connect(socketPath);
    const table = await new PlasmaTables(client).getTable(id, { timeoutMs: 5000 });
    assert.ok(table !== null);
    assert.equal(table.numRows, 500);
    assert.deepEqual(table.schema.fields.map((field) => field.name), ["id", "score", "name"]);
    assert.equal(table.getChild("id")!.get(499), 499n);
    assert.equal(table.getChild("score")!.get(10), 5);
    assert.equal(table.getChild("name")!.get(7), "row-7");

    // The object's own view (a second reference from the same client shares it).
    const [object] = await client.get([id], { timeoutMs: 0 });
    const objectStart = object!.data.byteOffset;
    const objectEnd = objectStart + object!.data.byteLength;
    let checked = 0;
    for (const column of table.schema.fields.map((field) => table.getChild(field.name)!)) {
      for (const buffer of column.data.flatMap(buffersOf)) {
        assert.equal(buffer.buffer, object!.data.buffer, "a column buffer is not a view of the store's mapping");
        assert.ok(buffer.byteOffset >= objectStart && buffer.byteOffset + buffer.byteLength <= objectEnd);
        checked++;
      }
    }
    assert.ok(checked >= 4, `checked ${checked} buffers`); // id values, score values, name offsets + bytes
    await client.release(id);
    await client.release(id);
    // Released: the views read as empty instead of pointing at memory the store may reuse.
    assert.equal(object!.data.byteLength, 0);
  });
});

Deno.test("putTable() then getTable() keeps nulls, several record batches and dictionary columns", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const tables = new PlasmaTables(client);
    const first = tableFromArrays({ n: Int32Array.from([1, 2, 3]), tag: ["a", "b", "a"] });
    const second = tableFromArrays({ n: Int32Array.from([4, 5]), tag: ["c", "a"] });
    const table = first.concat(second);
    const withNulls = new Table({
      n: table.getChild("n")!,
      tag: vectorFromArray(["x", null, "y", null, "x"], new Dictionary(new Utf8(), new Int32())),
    });
    assert.equal(withNulls.batches.length, 2);
    const id = await tables.putTable(withNulls);
    const back = await tables.getTable(id, { timeoutMs: 0 });
    assert.ok(back !== null);
    assert.equal(back.numRows, 5);
    assert.deepEqual([...back.getChild("n")!], [1, 2, 3, 4, 5]);
    assert.deepEqual([...back.getChild("tag")!], ["x", null, "y", null, "x"]);
    assert.ok(DataType.isDictionary(back.getChild("tag")!.type));
    await client.release(id);
  });
});

Deno.test("getTable() of an object that is not an Arrow stream fails and keeps no reference", async () => {
  await withStore(async ({ socketPath }) => {
    await using client = await PlasmaClient.connect(socketPath);
    const id = await client.put(new TextEncoder().encode("definitely not an Arrow IPC stream"));
    await assert.rejects(new PlasmaTables(client).getTable(id, { timeoutMs: 0 }), Error);
    const [listing] = await client.list();
    assert.equal(listing.refCount, 0);
    assert.equal(await new PlasmaTables(client).getTable(ObjectId.random(), { timeoutMs: 0 }), null);
  });
});

Deno.test("the client's core export does not load apache-arrow; the tables export does", async () => {
  // The modules each entry loads (deno info's `npmPackages` lists the whole lock file, so it is not used).
  const modulesOf = async (entry: string) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `--config=${REPO}deno.json`, `${REPO}${entry}`],
      cwd: REPO,
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const graph = JSON.parse(new TextDecoder().decode(output.stdout));
    return [
      ...graph.modules.map((module: { specifier: string }) => module.specifier),
      ...Object.values(graph.redirects),
    ]
      .join("\n");
  };
  assert.doesNotMatch(await modulesOf("src/client/mod.ts"), /apache-arrow/);
  assert.match(await modulesOf("src/tables/mod.ts"), /apache-arrow@21\.1\.0/);
});

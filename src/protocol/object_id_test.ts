/** ObjectId prints as its hex wherever it shows up: strings, JSON, console.log/Deno.inspect. */
import assert from "node:assert/strict";
import { ObjectId } from "./object_id.ts";

Deno.test("an ObjectId prints as its hex in String(), JSON and Deno.inspect", () => {
  const id = ObjectId.fromHex("00ff10ab");
  assert.equal(String(id), "00ff10ab");
  assert.equal(`${id}`, "00ff10ab");
  assert.equal(JSON.stringify({ id }), '{"id":"00ff10ab"}');
  assert.equal(Deno.inspect(id), "ObjectId(00ff10ab)");
  assert.equal(Deno.inspect([id]), "[ ObjectId(00ff10ab) ]");
});

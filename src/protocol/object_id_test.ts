/** Object ids: their printing, and the map keys the store makes of their bytes. */
import assert from "node:assert/strict";
import { idKey, keyBytes, OBJECT_ID_BYTES_MAX, OBJECT_ID_BYTES_MIN, ObjectId } from "./object_id.ts";

Deno.test("an ObjectId prints as its hex in String(), JSON and Deno.inspect", () => {
  const id = ObjectId.fromHex("00ff10ab");
  assert.equal(String(id), "00ff10ab");
  assert.equal(`${id}`, "00ff10ab");
  assert.equal(JSON.stringify({ id }), '{"id":"00ff10ab"}');
  assert.equal(Deno.inspect(id), "ObjectId(00ff10ab)");
  assert.equal(Deno.inspect([id]), "[ ObjectId(00ff10ab) ]");
});

Deno.test("idKey gives one char per byte for every id length, its fast lengths (20, 28) included", () => {
  for (let length = OBJECT_ID_BYTES_MIN; length <= OBJECT_ID_BYTES_MAX; length++) {
    const bytes = Uint8Array.from({ length }, (_, index) => (index * 37 + length) & 255);
    const key = idKey(bytes);
    assert.equal(key, Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""), `length ${length}`);
    assert.deepEqual(keyBytes(key), bytes);
  }
});

import assert from "node:assert/strict";
import { hash64, StreamingHash } from "./checksum.ts";

Deno.test("a streamed hash equals hash64 of the whole, and a changed byte changes it", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(50_000));
  const hash = new StreamingHash();
  try {
    for (const piece of [1, 100, 4096, 50_000]) {
      hash.reset(5n);
      for (let done = 0; done < bytes.length; done += piece) hash.update(bytes.subarray(done, done + piece));
      assert.equal(hash.digest(), hash64(bytes, 5n));
    }
    const before = hash64(bytes, 5n);
    bytes[49_999] ^= 1;
    hash.reset(5n);
    hash.update(bytes);
    assert.notEqual(hash.digest(), before);
    assert.equal(hash.digest(), hash64(bytes, 5n));
  } finally {
    hash.close();
  }
  assert.throws(() => hash.digest(), /closed/);
});

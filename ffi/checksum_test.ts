import assert from "node:assert/strict";
import { hash64, PipelinedHash, StreamingHash } from "./checksum.ts";

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

Deno.test("a pipelined hash equals hash64 of the whole for any split, parts chained through the seed", () => {
  const bytes = new Uint8Array(600_000);
  for (let start = 0; start < bytes.length; start += 65_536) {
    crypto.getRandomValues(bytes.subarray(start, start + 65_536));
  }
  const hash = new PipelinedHash();
  try {
    for (const piece of [1_000, 65_536, 262_144, 600_000]) {
      hash.reset(5n);
      for (let done = 0; done < bytes.length; done += piece) hash.update(bytes.subarray(done, done + piece));
      assert.equal(hash.digest(), hash64(bytes, 5n));
    }
    hash.reset(0n);
    hash.update(new TextEncoder().encode("head"));
    const head = hash.digest();
    hash.reset(head);
    hash.update(bytes);
    assert.equal(hash.digest(), hash64(bytes, hash64(new TextEncoder().encode("head"))));
    hash.reset(9n);
    hash.update(new Uint8Array(0));
    assert.equal(hash.digest(), hash64(new Uint8Array(0), 9n));
    hash.update(bytes); // left in flight: close waits for it
  } finally {
    hash.close();
  }
  hash.close();
  assert.throws(() => hash.update(bytes), /closed/);
});

import assert from "node:assert/strict";
import { hash64, RecordHashQueue, StreamingHash } from "./checksum.ts";

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

Deno.test("queued record checksums equal the parts hashed in line and chained, in submission order", () => {
  const data = new Uint8Array(300_000);
  for (let start = 0; start < data.length; start += 65_536) {
    crypto.getRandomValues(data.subarray(start, start + 65_536));
  }
  const chained = (parts: Uint8Array[]) => parts.reduce((seed, part) => hash64(part, seed), 0n);
  const queue = new RecordHashQueue();
  try {
    const records = Array.from({ length: 150 }, (_, index) => [
      new TextEncoder().encode(`header ${index}`),
      new Uint8Array(0),
      data.subarray(0, index % 7),
      data.subarray(index, index + (index * 1_999) % 250_000),
    ]);
    const expected = records.map(chained);
    const indexes = records.map(([header, owner, metadata, body]) => queue.submit(header, owner, metadata, body));
    assert.deepEqual(indexes, records.map((_, index) => index));
    for (const [header] of records) header.fill(0); // copied at submit: changing them now changes nothing
    assert.deepEqual(queue.wait(), expected);
    assert.deepEqual(queue.wait(), [], "a new batch starts empty");
    assert.equal(
      queue.submit(new Uint8Array(300), new Uint8Array(0), new Uint8Array(0), data),
      null,
      "too large to copy",
    );
    queue.submit(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), data);
    const [only] = queue.wait();
    assert.equal(only, hash64(data, hash64(new Uint8Array(0), hash64(new Uint8Array(0), hash64(new Uint8Array(0))))));
    queue.submit(data.subarray(0, 10), data.subarray(0, 10), data, data); // left queued: close finishes it
  } finally {
    queue.close();
  }
  queue.close();
  assert.throws(() => queue.wait(), /closed/);
});

import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import * as fb from "./generated/mod.ts";
import { MISSING_SPEC, writeObjectSpec } from "./_object_spec.ts";
import type { ArrowObjectSpec } from "./messages.ts";

/** The generated writer, fed BigInts as the encoder once did (sizes of -1 as unsigned). */
function generatedBytes(spec: ArrowObjectSpec): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  builder.finish(fb.ObjectSpec.createObjectSpec(
    builder,
    spec.segmentIndex,
    BigInt(spec.dataOffset),
    BigInt.asUintN(64, BigInt(spec.dataSize)),
    BigInt(spec.metadataOffset),
    BigInt(spec.metadataSize),
    0,
  ));
  return builder.asUint8Array().slice();
}

function ourBytes(spec: ArrowObjectSpec): Uint8Array {
  const builder = new flatbuffers.Builder(64);
  builder.finish(writeObjectSpec(builder, spec));
  return builder.asUint8Array().slice();
}

/** xorshift32: the same seed gives the same values. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

Deno.test("ObjectSpec from numbers matches the generated BigInt writer byte for byte", () => {
  const seed = Number(Deno.env.get("SPEC_SEED") ?? Date.now() % 2 ** 31);
  console.log(`seed ${seed} (replay: SPEC_SEED=${seed})`);
  const next = random(seed);
  const edges = [
    0,
    1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    3 * 2 ** 40 + 7,
    Number.MAX_SAFE_INTEGER,
  ];
  const value = () => next() < 0.3 ? edges[Math.floor(next() * edges.length)] : Math.floor(next() * 2 ** 53);
  const specs: ArrowObjectSpec[] = [MISSING_SPEC, { ...MISSING_SPEC, dataSize: -1 }];
  for (let index = 0; index < 500; index++) {
    specs.push({
      segmentIndex: Math.floor(next() * 2 ** 31) - (next() < 0.1 ? 2 ** 31 : 0),
      dataOffset: value(),
      dataSize: next() < 0.05 ? -1 : value(),
      metadataOffset: value(),
      metadataSize: value(),
    });
  }
  for (const spec of specs) assert.deepEqual(ourBytes(spec), generatedBytes(spec), JSON.stringify(spec));
});

/**
 * Test helper: damages valid payloads at random (truncations and byte flips) and checks that a
 * hand-written decoder refuses, or reads, each damaged payload exactly as the verifier plus the
 * generated readers do. Private to the protocol tests.
 * @module
 */
import assert from "node:assert/strict";
import { VerificationError } from "./verifier.ts";

type Decode = (table: string, payload: Uint8Array) => unknown;

/** What a decode gives: its value, or that it refused the payload (any other error fails the test). */
export function outcome(decode: () => unknown): unknown {
  try {
    return { value: decode() };
  } catch (error) {
    if (error instanceof VerificationError) return "refused";
    throw error;
  }
}

/**
 * Runs `rounds` damaged copies of the samples through both decoders (a fixed seed: the same run
 * every time); asserts they agree on each, and that enough were refused for the check to mean
 * anything. Returns how many were refused.
 */
export function assertDamageParity(
  samples: [string, Uint8Array][],
  hot: Decode,
  reference: Decode,
  seed: number,
): number {
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const rounds = 4000;
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    const [table, valid] = samples[round % samples.length];
    const damaged = valid.slice(0, random() < 0.2 ? Math.floor(random() * valid.length) : valid.length);
    for (let flips = 1 + Math.floor(random() * 3); flips > 0 && damaged.length > 0; flips--) {
      damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
    }
    const expected = outcome(() => reference(table, damaged));
    assert.deepEqual(outcome(() => hot(table, damaged)), expected, `${table} round ${round}`);
    if (expected === "refused") refused++;
  }
  assert.ok(refused > rounds / 10, `the damage must often be refusable to mean anything (${refused} refused)`);
  return refused;
}

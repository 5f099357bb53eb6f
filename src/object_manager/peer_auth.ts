/**
 * Mutual HMAC challenge between object managers: each side proves it knows the cluster secret by
 * signing the other's fresh nonce, so no object moves to or from a peer that does not.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { NONCE_BYTES } from "../cluster/constants.ts";

export type AuthRole = "client" | "server";

/** A fresh random nonce. */
export function makeNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** HMAC-SHA256(secret, role + nonce): the role stops a proof being reflected back. */
export function prove(secret: Uint8Array, role: AuthRole, nonce: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", secret).update(role).update(nonce).digest());
}

/** Whether `proof` is the right one (constant-time comparison). */
export function verifyProof(secret: Uint8Array, role: AuthRole, nonce: Uint8Array, proof: Uint8Array): boolean {
  const expected = prove(secret, role, nonce);
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}

/** Reads a secret file: its bytes without a trailing newline; refuses an empty one. */
export async function readSecretFile(path: string): Promise<Uint8Array> {
  const text = await Deno.readFile(path);
  let end = text.length;
  while (end > 0 && (text[end - 1] === 0x0a || text[end - 1] === 0x0d)) end--;
  if (end < 16) throw new Error(`The cluster secret in ${path} is shorter than 16 bytes`);
  return text.subarray(0, end);
}

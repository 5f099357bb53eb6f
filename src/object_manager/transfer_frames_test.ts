import assert from "node:assert/strict";
import {
  decodeHeader,
  decodePrefix,
  encodeFrame,
  FRAME_PREFIX_BYTES,
  PeerProtocolError,
  PullError,
  type TransferFrame,
  TransferMessage,
} from "./transfer_frames.ts";

function roundTrip(frame: TransferFrame): TransferFrame {
  const bytes = encodeFrame(frame);
  const prefix = decodePrefix(bytes.subarray(0, FRAME_PREFIX_BYTES));
  return decodeHeader(prefix, bytes.slice(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + prefix.headerBytes));
}

Deno.test("every transfer frame survives encode and decode", () => {
  const frames: TransferFrame[] = [
    { type: TransferMessage.Challenge, nodeId: "n1", nonce: new Uint8Array([1, 2]), authRequired: true },
    {
      type: TransferMessage.Hello,
      nodeId: "n2",
      nonce: new Uint8Array([3]),
      proof: new Uint8Array([0, 255]),
      address: "h:1",
    },
    { type: TransferMessage.Welcome, proof: new Uint8Array([9]) },
    { type: TransferMessage.PullRequest, requestId: 7, objectId: new Uint8Array([0, 1, 0]), allowRedirect: true },
    { type: TransferMessage.ObjectHeader, requestId: 7, dataSize: 2 ** 40, metadataSize: 3 },
    { type: TransferMessage.ChunkHeader, requestId: 7, offset: 4 * 2 ** 20, payloadBytes: 100 },
    { type: TransferMessage.PullFailed, requestId: 7, error: PullError.ObjectNotFound, message: "not here" },
    { type: TransferMessage.Redirect, requestId: 7, address: "127.0.0.1:4000" },
  ];
  for (const frame of frames) assert.deepEqual(roundTrip(frame), frame);
});

Deno.test("random bytes as a frame (seeded) are rejected with PeerProtocolError, never anything else", () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 1_000_000);
  console.log(`transfer frame fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
  let state = seed;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const valid = encodeFrame({
    type: TransferMessage.PullRequest,
    requestId: 1,
    objectId: new Uint8Array(20),
    allowRedirect: false,
  });
  for (let round = 0; round < 5_000; round++) {
    // Half the rounds start from a valid frame with a few bytes changed, half are pure noise.
    const bytes = round % 2 === 0 ? valid.slice() : new Uint8Array(Math.floor(random() * 80) + FRAME_PREFIX_BYTES);
    for (let index = 0; index < (round % 2 === 0 ? 3 : bytes.length); index++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    try {
      const prefix = decodePrefix(bytes.subarray(0, FRAME_PREFIX_BYTES));
      decodeHeader(prefix, bytes.slice(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + prefix.headerBytes));
    } catch (error) {
      assert.ok(error instanceof PeerProtocolError, `seed ${seed} round ${round}: ${(error as Error).stack}`);
    }
  }
});

Deno.test("a prefix with an oversized header or a payload on a non-chunk frame is refused before reading on", () => {
  const prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, 0x58544c50, true);
  view.setUint32(4, TransferMessage.PullRequest, true);
  view.setUint32(8, 1 << 30, true);
  assert.throws(() => decodePrefix(prefix), /frame header of 1073741824 bytes/);
  view.setUint32(8, 32, true);
  view.setUint32(12, 10, true);
  assert.throws(() => decodePrefix(prefix), /payload of 10 bytes on frame type 4/);
});

/**
 * Facts the Zig library and the TypeScript side must agree on, read from ffi/zig/ itself: the
 * status enum (names and order), allocation alignment, frame limits, poller and chunk flag bits.
 * @module
 */
import assert from "node:assert/strict";
import { FRAME_HEADER_BYTES, FRAME_PAYLOAD_BYTES_MAX, RECEIVE_BUFFER_BYTES_INITIAL } from "../ffi/frame_connection.ts";
import { EVENT_HANGUP, EVENT_READABLE, EVENT_WRITABLE } from "../ffi/poller.ts";
import { ALLOCATION_ALIGNMENT_BYTES } from "../ffi/region_allocator.ts";
import {
  CHUNK_FLAG_FALLOCATE,
  CHUNK_FLAG_HUGEPAGES,
  CHUNK_FLAG_POPULATE,
  CHUNK_FLAG_READ_ONLY,
} from "../ffi/shared_memory.ts";
import { STATUS_NAMES } from "../ffi/status.ts";
import { SOCKET_PATH_BYTES_MAX } from "../src/cli/store_flags.ts";
import { REQUEST_BYTES_CEILING } from "../src/store/constants.ts";

const ZIG_DIR = new URL("../ffi/zig/", import.meta.url);

function zigSource(file: string): string {
  return Deno.readTextFileSync(new URL(file, ZIG_DIR));
}

/** The value of `pub const NAME: type = EXPR;` in a Zig file, for EXPR a number, a sum, a product or a shift. */
function zigConstant(file: string, name: string): number {
  const match = zigSource(file).match(new RegExp(`pub const ${name}: \\w+ = ([^;]+);`));
  assert.ok(match, `${file} declares no pub const ${name}`);
  const expression = match[1].replaceAll("_", "");
  assert.match(expression, /^[\d\s*+<()]+$/, `${name} = ${expression} is not a plain number expression`);
  return Number(new Function(`return ${expression};`)());
}

/** The fields of the Status enum in declaration order, with their values. */
function zigStatuses(): [string, number][] {
  const body = zigSource("status.zig").match(/pub const Status = enum\(c_int\) \{([^}]*?)\n\s*pub fn/s);
  assert.ok(body, "status.zig declares no Status enum");
  return [...body[1].matchAll(/^\s*(\w+) = (\d+),/gm)].map((field) => [field[1], Number(field[2])]);
}

Deno.test("the TypeScript status table lists Zig's statuses by name in the same order", () => {
  const statuses = zigStatuses();
  assert.ok(statuses.length > 20, `read only ${statuses.length} statuses from status.zig`);
  statuses.forEach(([, value], index) => assert.equal(value, index, "Zig's status values are dense from 0"));
  assert.deepEqual([...STATUS_NAMES], statuses.map(([name]) => name));
});

Deno.test("allocation alignment is the Zig allocator's", () => {
  assert.equal(ALLOCATION_ALIGNMENT_BYTES, zigConstant("allocator.zig", "ALIGNMENT"));
});

Deno.test("frame header size and payload ceiling are the native connection's", () => {
  assert.equal(FRAME_HEADER_BYTES, zigConstant("constants.zig", "frame_header_bytes"));
  assert.equal(FRAME_PAYLOAD_BYTES_MAX, zigConstant("constants.zig", "frame_payload_bytes_max"));
  assert.equal(REQUEST_BYTES_CEILING, FRAME_PAYLOAD_BYTES_MAX);
  assert.equal(SOCKET_PATH_BYTES_MAX, zigConstant("constants.zig", "socket_path_bytes_max"));
  assert.equal(RECEIVE_BUFFER_BYTES_INITIAL, zigConstant("constants.zig", "receive_buffer_bytes_initial"));
});

Deno.test("poller event bits are the Zig poller's", () => {
  assert.equal(EVENT_READABLE, zigConstant("poller.zig", "event_readable"));
  assert.equal(EVENT_WRITABLE, zigConstant("poller.zig", "event_writable"));
  assert.equal(EVENT_HANGUP, zigConstant("poller.zig", "event_hangup"));
});

Deno.test("chunk flag bits are the Zig shm module's", () => {
  assert.equal(CHUNK_FLAG_POPULATE, zigConstant("shm.zig", "flag_populate"));
  assert.equal(CHUNK_FLAG_HUGEPAGES, zigConstant("shm.zig", "flag_hugepages"));
  assert.equal(CHUNK_FLAG_FALLOCATE, zigConstant("shm.zig", "flag_fallocate"));
  assert.equal(CHUNK_FLAG_READ_ONLY, zigConstant("shm.zig", "flag_read_only"));
});

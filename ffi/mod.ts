/**
 * TypeScript bindings of the native library.
 * @module
 */
export * from "./status.ts";
export * from "./library.ts";
export * from "./shared_memory.ts";
export * from "./region_allocator.ts";
export * from "./unix_socket.ts";
export * from "./frame_connection.ts";
export * from "./poller.ts";
export * from "./checksum.ts";

/**
 * Every symbol of the native library, with its C prototype beside it. The one table that
 * `Deno.dlopen` receives; tests/ffi_symbols_test.ts checks it against the library's exports.
 * Handles are pointers; sizes that may pass 4 GiB are u64 (pass bigint on hot paths);
 * out-parameters are buffers (TypedArrays) so no call allocates.
 * @module
 */

export const SYMBOLS = {
  // int plasma_status_count(void)
  plasma_status_count: { parameters: [], result: "i32" },
  // uint32_t plasma_noop(uint32_t value)
  plasma_noop: { parameters: ["u32"], result: "u32" },
  // int plasma_heap_trim(void)
  plasma_heap_trim: { parameters: [], result: "i32" },

  // uint64_t plasma_hash64(uint64_t seed, const uint8_t *bytes, uint64_t len)
  plasma_hash64: { parameters: ["u64", "buffer", "u64"], result: "u64" },
  // XxHash3 *plasma_hasher_create(void)  (NULL when out of memory)
  plasma_hasher_create: { parameters: [], result: "pointer" },
  // void plasma_hasher_reset(XxHash3 *hasher, uint64_t seed)
  plasma_hasher_reset: { parameters: ["pointer", "u64"], result: "void" },
  // void plasma_hasher_update(XxHash3 *hasher, const uint8_t *bytes, uint64_t len)
  plasma_hasher_update: { parameters: ["pointer", "buffer", "u64"], result: "void" },
  // uint64_t plasma_hasher_digest(XxHash3 *hasher)
  plasma_hasher_digest: { parameters: ["pointer"], result: "u64" },
  // void plasma_hasher_destroy(XxHash3 *hasher)
  plasma_hasher_destroy: { parameters: ["pointer"], result: "void" },
  // HashQueue *plasma_hash_queue_create(void)  (NULL when out of memory or threads)
  plasma_hash_queue_create: { parameters: [], result: "pointer" },
  // int32_t plasma_hash_queue_submit(HashQueue *queue, header, header_len, owner, owner_len, metadata, metadata_len,
  //   data, data_len)  (the job's index in the batch, or -1: hash it in line; returns at once unless 64 are queued)
  plasma_hash_queue_submit: {
    parameters: ["pointer", "buffer", "u64", "buffer", "u64", "buffer", "u64", "buffer", "u64"],
    result: "i32",
  },
  // uint64_t plasma_hash_queue_wait(HashQueue *queue, uint64_t *out, uint64_t out_len)  (the batch's checksums copied)
  plasma_hash_queue_wait: { parameters: ["pointer", "buffer", "u64"], result: "u64" },
  // void plasma_hash_queue_destroy(HashQueue *queue)  (finishes the queued jobs first)
  plasma_hash_queue_destroy: { parameters: ["pointer"], result: "void" },

  // int plasma_chunk_create(uint32_t kind, const char *dir, uint64_t size, uint32_t flags, Mapping *out)
  plasma_chunk_create: { parameters: ["u32", "buffer", "u64", "u32", "buffer"], result: "i32" },
  // int plasma_chunk_map(int32_t fd, uint64_t size, uint32_t flags, Mapping *out)
  plasma_chunk_map: { parameters: ["i32", "u64", "u32", "buffer"], result: "i32" },
  // int plasma_chunk_unmap(uint64_t address, uint64_t size)
  plasma_chunk_unmap: { parameters: ["u64", "u64"], result: "i32" },
  // int plasma_chunk_lookup(uint64_t address, int64_t out[2])
  plasma_chunk_lookup: { parameters: ["u64", "buffer"], result: "i32" },
  // int plasma_fd_close(int32_t fd)
  plasma_fd_close: { parameters: ["i32"], result: "i32" },
  // int plasma_filesystem_space(const char *path, uint64_t out[2])
  plasma_filesystem_space: { parameters: ["buffer", "buffer"], result: "i32" },

  // int plasma_allocator_create(uint64_t capacity, uint32_t blocks_max, uint64_t *handle_out)
  plasma_allocator_create: { parameters: ["u64", "u32", "buffer"], result: "i32" },
  // void plasma_allocator_destroy(Allocator *self)
  plasma_allocator_destroy: { parameters: ["pointer"], result: "void" },
  // int plasma_allocator_alloc(Allocator *self, uint64_t size, uint64_t *offset_out)
  plasma_allocator_alloc: { parameters: ["pointer", "u64", "buffer"], result: "i32" },
  // int plasma_allocator_free(Allocator *self, uint64_t offset)
  plasma_allocator_free: { parameters: ["pointer", "u64"], result: "i32" },
  // void plasma_allocator_stats(Allocator *self, uint64_t out[4])
  plasma_allocator_stats: { parameters: ["pointer", "buffer"], result: "void" },

  // int plasma_socket_listen(const char *path, uint32_t mode, uint32_t backlog, int32_t *fd_out)
  plasma_socket_listen: { parameters: ["buffer", "u32", "u32", "buffer"], result: "i32" },
  // int plasma_socket_accept(int32_t listen_fd, int32_t *fd_out)
  plasma_socket_accept: { parameters: ["i32", "buffer"], result: "i32" },
  // int plasma_socket_connect(const char *path, uint32_t non_blocking, int32_t *fd_out)
  plasma_socket_connect: { parameters: ["buffer", "u32", "buffer"], result: "i32" },
  // int plasma_socket_pair(int32_t fds_out[2])
  plasma_socket_pair: { parameters: ["buffer"], result: "i32" },
  // int plasma_socket_peer_credentials(int32_t fd, int32_t out[3])
  plasma_socket_peer_credentials: { parameters: ["i32", "buffer"], result: "i32" },
  // int plasma_fd_wait(int32_t fd, uint32_t events, int32_t timeout_ms)
  plasma_fd_wait: { parameters: ["i32", "u32", "i32"], result: "i32" },
  // The same function run on a worker thread: waiting without blocking the event loop.
  plasma_fd_wait_async: { name: "plasma_fd_wait", parameters: ["i32", "u32", "i32"], result: "i32", nonblocking: true },

  // int plasma_connection_create(int32_t fd, uint64_t receive_payload_max, uint64_t send_payload_max, uint64_t *handle_out)
  plasma_connection_create: { parameters: ["i32", "u64", "u64", "buffer"], result: "i32" },
  // void plasma_connection_destroy(Connection *self)
  plasma_connection_destroy: { parameters: ["pointer"], result: "void" },
  // int32_t plasma_connection_fd(Connection *self)
  plasma_connection_fd: { parameters: ["pointer"], result: "i32" },
  // int plasma_connection_read_frame(Connection *self, uint32_t header_out[6], uint8_t *payload, uint32_t capacity, int32_t wait_ms)
  plasma_connection_read_frame: { parameters: ["pointer", "buffer", "buffer", "u32", "i32"], result: "i32" },
  // int plasma_connection_read_buffered_frame(Connection *self, uint32_t header_out[6], uint8_t *payload, uint32_t capacity)
  plasma_connection_read_buffered_frame: { parameters: ["pointer", "buffer", "buffer", "u32"], result: "i32" },
  // int plasma_connection_lend_frame(Connection *self, uint32_t header_out[6], uint64_t *payload_out, int32_t wait_ms)
  plasma_connection_lend_frame: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  // int plasma_connection_take_fd(Connection *self, int32_t wait_ms, int32_t *fd_out)
  plasma_connection_take_fd: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // int plasma_connection_write_frame(Connection *self, uint64_t cookie, uint32_t type, const uint8_t *payload, uint32_t length, int32_t wait_ms)
  plasma_connection_write_frame: { parameters: ["pointer", "u64", "u32", "buffer", "u32", "i32"], result: "i32" },
  // int plasma_connection_queue_frame(Connection *self, uint64_t cookie, uint32_t type, const uint8_t *payload, uint32_t length)
  plasma_connection_queue_frame: { parameters: ["pointer", "u64", "u32", "buffer", "u32"], result: "i32" },
  // int plasma_connection_queue_bytes(Connection *self, const uint8_t *bytes, uint32_t length)
  plasma_connection_queue_bytes: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  // int plasma_connection_send_fd(Connection *self, int32_t fd, int32_t wait_ms)
  plasma_connection_send_fd: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  // int plasma_connection_flush(Connection *self, int32_t wait_ms)
  plasma_connection_flush: { parameters: ["pointer", "i32"], result: "i32" },
  // void plasma_connection_counters(Connection *self, uint64_t out[5])
  plasma_connection_counters: { parameters: ["pointer", "buffer"], result: "void" },
  // uint32_t plasma_connection_queued_bytes(Connection *self)
  plasma_connection_queued_bytes: { parameters: ["pointer"], result: "u32" },
  // void plasma_connection_allow_receive_bytes(Connection *self, uint64_t bytes)
  plasma_connection_allow_receive_bytes: { parameters: ["pointer", "u64"], result: "void" },

  // int plasma_poller_create(uint64_t *handle_out)
  plasma_poller_create: { parameters: ["buffer"], result: "i32" },
  // void plasma_poller_destroy(Poller *self)
  plasma_poller_destroy: { parameters: ["pointer"], result: "void" },
  // int plasma_poller_add(Poller *self, int32_t fd, uint32_t token, uint32_t interest)
  plasma_poller_add: { parameters: ["pointer", "i32", "u32", "u32"], result: "i32" },
  // int plasma_poller_modify(Poller *self, int32_t fd, uint32_t token, uint32_t interest)
  plasma_poller_modify: { parameters: ["pointer", "i32", "u32", "u32"], result: "i32" },
  // int plasma_poller_remove(Poller *self, int32_t fd)
  plasma_poller_remove: { parameters: ["pointer", "i32"], result: "i32" },
  // int plasma_poller_wait(Poller *self, uint32_t *events_out, uint32_t capacity, int32_t timeout_ms)
  plasma_poller_wait: { parameters: ["pointer", "buffer", "u32", "i32"], result: "i32" },
  // The same wait on a worker thread, used when the loop has been idle.
  plasma_poller_wait_async: {
    name: "plasma_poller_wait",
    parameters: ["pointer", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int plasma_poller_wake(Poller *self)
  plasma_poller_wake: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's callable symbols. */
export type NativeSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

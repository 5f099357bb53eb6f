//! The C ABI of the native library: every exported symbol, each a thin adapter that checks its
//! arguments and forwards to one module. ffi/symbols.ts mirrors this list (a test compares them).
const std = @import("std");
const status_mod = @import("status.zig");
const shm = @import("shm.zig");
const socket = @import("socket.zig");
const connection_mod = @import("connection.zig");
const poller_mod = @import("poller.zig");
const allocator_mod = @import("allocator.zig");
const hash_queue = @import("hash_queue.zig");
const heap = @import("heap.zig");

const Status = status_mod.Status;
const Connection = connection_mod.Connection;
const Poller = poller_mod.Poller;
const RegionAllocator = allocator_mod.Allocator;

fn code(status: Status) c_int {
    return status.code();
}

// ---------------------------------------------------------------- library

export fn plasma_status_count() c_int {
    return status_mod.status_count;
}

/// Does nothing: the FFI call-overhead benchmark measures its round trip.
export fn plasma_noop(value: u32) u32 {
    return value +% 1;
}

/// Returns the C heap's free pages to the kernel (every thread's arena); 1 when any were released.
export fn plasma_heap_trim() c_int {
    return @intFromBool(heap.trim());
}

// ---------------------------------------------------------------- shared memory

export fn plasma_chunk_create(kind: u32, dir: [*:0]const u8, size_bytes: u64, flags: u32, out: *shm.Mapping) c_int {
    return code(shm.createChunk(kind, dir, size_bytes, flags, out));
}

export fn plasma_chunk_map(fd: i32, size_bytes: u64, flags: u32, out: *shm.Mapping) c_int {
    return code(shm.mapFd(fd, size_bytes, flags, out));
}

export fn plasma_chunk_unmap(address: u64, size_bytes: u64) c_int {
    return code(shm.unmap(address, size_bytes));
}

export fn plasma_chunk_lookup(address: u64, out: *[2]i64) c_int {
    return code(shm.lookup(address, out));
}

export fn plasma_fd_close(fd: i32) c_int {
    if (fd < 0) return code(.invalid_argument);
    shm.closeFd(fd);
    return code(.ok);
}

export fn plasma_filesystem_space(path: [*:0]const u8, out: *[2]u64) c_int {
    return code(shm.filesystemSpace(path, out));
}

// ---------------------------------------------------------------- checksums

/// XXH3-64 of `len` bytes, seeded: spill files checksum each object, chaining its parts through
/// the seed. XXH3 because it runs far faster than the disk the spilled bytes go to.
export fn plasma_hash64(seed: u64, bytes: ?[*]const u8, len: u64) u64 {
    const ptr = bytes orelse return std.hash.XxHash3.hash(seed, "");
    return std.hash.XxHash3.hash(seed, ptr[0..@intCast(len)]);
}

/// A streaming XXH3-64 state, so a large part can be hashed piece by piece while each piece is
/// still in the CPU's cache from the read or before the write that moves it (one pass over memory).
/// Gives the same value as plasma_hash64 over the concatenated pieces.
export fn plasma_hasher_create() ?*std.hash.XxHash3 {
    const hasher = std.heap.c_allocator.create(std.hash.XxHash3) catch return null;
    hasher.* = std.hash.XxHash3.init(0);
    return hasher;
}

export fn plasma_hasher_reset(hasher: *std.hash.XxHash3, seed: u64) void {
    hasher.* = std.hash.XxHash3.init(seed);
}

export fn plasma_hasher_update(hasher: *std.hash.XxHash3, bytes: ?[*]const u8, len: u64) void {
    const ptr = bytes orelse return;
    hasher.update(ptr[0..@intCast(len)]);
}

/// The hash of everything since the last reset; the state may keep being updated after it.
export fn plasma_hasher_digest(hasher: *std.hash.XxHash3) u64 {
    return hasher.final();
}

export fn plasma_hasher_destroy(hasher: *std.hash.XxHash3) void {
    std.heap.c_allocator.destroy(hasher);
}

/// Spill records' checksums on a helper thread, one queued job per record (hash_queue.zig): the
/// spill I/O moves the next object while the helper hashes this one. NULL when out of memory or threads.
export fn plasma_hash_queue_create() ?*hash_queue.HashQueue {
    const queue = std.heap.c_allocator.create(hash_queue.HashQueue) catch return null;
    queue.start() catch {
        std.heap.c_allocator.destroy(queue);
        return null;
    };
    return queue;
}

/// Queues the chained checksum of header, owner, metadata and data; returns its index in this
/// batch, or -1 when refused (batch full, or header and owner too large: hash it in line). The
/// queue copies header and owner; metadata and data must stay mapped until plasma_hash_queue_wait.
export fn plasma_hash_queue_submit(
    queue: *hash_queue.HashQueue,
    header: ?[*]const u8,
    header_len: u64,
    owner: ?[*]const u8,
    owner_len: u64,
    metadata: ?[*]const u8,
    metadata_len: u64,
    data: ?[*]const u8,
    data_len: u64,
) i32 {
    const index = queue.submit(
        bytesOrEmpty(header, header_len),
        bytesOrEmpty(owner, owner_len),
        bytesOrEmpty(metadata, metadata_len),
        bytesOrEmpty(data, data_len),
    ) orelse return -1;
    return @intCast(index);
}

/// Blocks until every queued checksum is done; copies this batch's into `out` (at most `out_len`),
/// starts a new batch and returns how many it copied.
export fn plasma_hash_queue_wait(queue: *hash_queue.HashQueue, out: ?[*]u64, out_len: u64) u64 {
    const results: []u64 = if (out) |ptr| ptr[0..@intCast(out_len)] else &.{};
    return queue.wait(results);
}

export fn plasma_hash_queue_destroy(queue: *hash_queue.HashQueue) void {
    queue.stop();
    std.heap.c_allocator.destroy(queue);
}

/// Deno passes a zero-length buffer as NULL.
fn bytesOrEmpty(ptr: ?[*]const u8, len: u64) []const u8 {
    const bytes = ptr orelse return "";
    return bytes[0..@intCast(len)];
}

test "a streamed hash equals the one-shot hash for any split" {
    var data: [70_000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(42);
    prng.random().bytes(&data);
    const hasher = plasma_hasher_create() orelse return error.OutOfMemory;
    defer plasma_hasher_destroy(hasher);
    for ([_]usize{ 0, 1, 100, 240, 241, 1024, 4096, 65_536, 70_000 }) |len| {
        for ([_]usize{ 1, 7, 64, 256, 257, 4096, 65_536 }) |piece| {
            plasma_hasher_reset(hasher, 9);
            var done: usize = 0;
            while (done < len) : (done += piece) {
                const end = @min(len, done + piece);
                plasma_hasher_update(hasher, data[done..end].ptr, end - done);
            }
            try std.testing.expectEqual(plasma_hash64(9, &data, len), plasma_hasher_digest(hasher));
        }
    }
}

test "plasma_hash64 chains parts through the seed and tells one changed byte" {
    const whole = plasma_hash64(plasma_hash64(7, "head", 4), "data", 4);
    try std.testing.expectEqual(whole, plasma_hash64(plasma_hash64(7, "head", 4), "data", 4));
    try std.testing.expect(whole != plasma_hash64(plasma_hash64(7, "head", 4), "dbta", 4));
    try std.testing.expectEqual(std.hash.XxHash3.hash(3, ""), plasma_hash64(3, null, 0));
}

// ---------------------------------------------------------------- allocator

export fn plasma_allocator_create(capacity_bytes: u64, blocks_max: u32, handle_out: *u64) c_int {
    const self = std.heap.c_allocator.create(RegionAllocator) catch return code(.system_resources);
    self.* = RegionAllocator.init(std.heap.c_allocator, capacity_bytes, blocks_max) catch |err| {
        std.heap.c_allocator.destroy(self);
        return code(allocatorStatus(err));
    };
    handle_out.* = @intFromPtr(self);
    return code(.ok);
}

export fn plasma_allocator_destroy(self: *RegionAllocator) void {
    self.deinit();
    std.heap.c_allocator.destroy(self);
}

export fn plasma_allocator_alloc(self: *RegionAllocator, size_bytes: u64, offset_out: *u64) c_int {
    offset_out.* = self.alloc(size_bytes) catch |err| return code(allocatorStatus(err));
    return code(.ok);
}

export fn plasma_allocator_free(self: *RegionAllocator, offset: u64) c_int {
    self.free(offset) catch |err| return code(allocatorStatus(err));
    return code(.ok);
}

/// Writes capacity, allocated bytes, largest free block and live block count.
export fn plasma_allocator_stats(self: *RegionAllocator, out: *[4]u64) void {
    out.* = .{ self.capacityBytes(), self.allocatedBytes(), self.largestFreeBlock(), self.liveBlocks() };
}

fn allocatorStatus(err: anyerror) Status {
    return switch (err) {
        error.OutOfMemory => .out_of_memory,
        error.OutOfBlocks => .out_of_blocks,
        error.InvalidOffset => .invalid_offset,
        error.InvalidSize => .invalid_argument,
        else => .unexpected,
    };
}

// ---------------------------------------------------------------- sockets

export fn plasma_socket_listen(path: [*:0]const u8, mode: u32, backlog: u32, fd_out: *i32) c_int {
    return code(socket.listen(path, mode, backlog, fd_out));
}

export fn plasma_socket_accept(listen_fd: i32, fd_out: *i32) c_int {
    return code(socket.accept(listen_fd, fd_out));
}

export fn plasma_socket_connect(path: [*:0]const u8, non_blocking: u32, fd_out: *i32) c_int {
    return code(socket.connect(path, non_blocking != 0, fd_out));
}

export fn plasma_socket_pair(fds_out: *[2]i32) c_int {
    return code(socket.pair(fds_out));
}

export fn plasma_socket_peer_credentials(fd: i32, out: *[3]i32) c_int {
    return code(socket.peerCredentials(fd, out));
}

export fn plasma_fd_wait(fd: i32, events: u32, timeout_ms: i32) c_int {
    if (fd < 0 or events == 0 or events > 0xffff) return code(.invalid_argument);
    return code(connection_mod.waitFor(fd, @intCast(events), timeout_ms));
}

// ---------------------------------------------------------------- connections

export fn plasma_connection_create(fd: i32, payload_bytes_max: u64, send_payload_bytes_max: u64, handle_out: *u64) c_int {
    var created: *Connection = undefined;
    const status = Connection.create(fd, payload_bytes_max, send_payload_bytes_max, &created);
    if (status == .ok) handle_out.* = @intFromPtr(created);
    return code(status);
}

export fn plasma_connection_destroy(self: *Connection) void {
    self.destroy();
}

export fn plasma_connection_fd(self: *Connection) i32 {
    return self.fd;
}

export fn plasma_connection_read_frame(self: *Connection, header_out: *connection_mod.HeaderOut, payload: [*]u8, capacity: u32, wait_ms: i32) c_int {
    return code(self.readFrame(header_out, payload, capacity, wait_ms));
}

/// Reads the next frame if it is buffered or the socket may hold it (see readBufferedFrame).
export fn plasma_connection_read_buffered_frame(self: *Connection, header_out: *connection_mod.HeaderOut, payload: [*]u8, capacity: u32) c_int {
    return code(self.readBufferedFrame(header_out, payload, capacity));
}

/// Reads the next frame without copying: payload_out points at it until the next read.
export fn plasma_connection_lend_frame(self: *Connection, header_out: *connection_mod.HeaderOut, payload_out: *u64, wait_ms: i32) c_int {
    var lent: [*]u8 = undefined;
    const status = self.lendFrame(header_out, &lent, wait_ms);
    if (status == .ok) payload_out.* = @intFromPtr(lent);
    return code(status);
}

export fn plasma_connection_take_fd(self: *Connection, wait_ms: i32, fd_out: *i32) c_int {
    return code(self.takeFd(wait_ms, fd_out));
}

export fn plasma_connection_write_frame(self: *Connection, cookie: u64, message_type: u32, payload: [*]const u8, length: u32, wait_ms: i32) c_int {
    return code(self.writeFrame(cookie, message_type, payload, length, wait_ms));
}

export fn plasma_connection_queue_frame(self: *Connection, cookie: u64, message_type: u32, payload: [*]const u8, length: u32) c_int {
    return code(self.queueFrame(cookie, message_type, payload, length));
}

export fn plasma_connection_queue_bytes(self: *Connection, bytes: [*]const u8, length: u32) c_int {
    return code(self.queueBytes(bytes, length));
}

export fn plasma_connection_send_fd(self: *Connection, fd: i32, wait_ms: i32) c_int {
    return code(self.sendFd(fd, wait_ms));
}

export fn plasma_connection_flush(self: *Connection, wait_ms: i32) c_int {
    return code(self.flush(wait_ms));
}

/// Writes bytes received but not handed out, bytes queued but not sent, the receive buffer's
/// size, the send queue's capacity, and the receive buffer size the last budget_exceeded wanted.
export fn plasma_connection_counters(self: *Connection, out: *[5]u64) void {
    out.* = .{ self.bufferedBytes(), self.queuedBytes(), self.receive_buffer.len, self.send_queue.capacity, self.receive_bytes_wanted };
}

/// Bytes queued but not yet sent, saturated at 2^32-1: the one counter checked per request, read
/// without filling the counters array (whose u64s cost a BigInt each on the JS side).
export fn plasma_connection_queued_bytes(self: *Connection) u32 {
    return @intCast(@min(self.queuedBytes(), std.math.maxInt(u32)));
}

/// Sets the largest receive buffer the connection may grow to (see budget_exceeded).
export fn plasma_connection_allow_receive_bytes(self: *Connection, bytes: u64) void {
    self.allowReceiveBytes(@intCast(@min(bytes, std.math.maxInt(usize))));
}

// ---------------------------------------------------------------- event wait

export fn plasma_poller_create(handle_out: *u64) c_int {
    var created: *Poller = undefined;
    const status = Poller.create(&created);
    if (status == .ok) handle_out.* = @intFromPtr(created);
    return code(status);
}

export fn plasma_poller_destroy(self: *Poller) void {
    self.destroy();
}

export fn plasma_poller_add(self: *Poller, fd: i32, token: u32, interest: u32) c_int {
    return code(self.add(fd, token, interest));
}

export fn plasma_poller_modify(self: *Poller, fd: i32, token: u32, interest: u32) c_int {
    return code(self.modify(fd, token, interest));
}

export fn plasma_poller_remove(self: *Poller, fd: i32) c_int {
    return code(self.remove(fd));
}

export fn plasma_poller_wait(self: *Poller, events_out: [*]u32, capacity: u32, timeout_ms: i32) c_int {
    return self.wait(events_out, capacity, timeout_ms);
}

export fn plasma_poller_wake(self: *Poller) c_int {
    return code(self.wake());
}

// Pull every module's tests into the one test binary (without adding a test of its own).
comptime {
    if (@import("builtin").is_test) {
        std.testing.refAllDecls(@This());
        _ = status_mod;
        _ = shm;
        _ = socket;
        _ = connection_mod;
        _ = poller_mod;
        _ = allocator_mod;
        _ = hash_queue;
        _ = heap;
        _ = @import("connection_fuzz.zig");
    }
}

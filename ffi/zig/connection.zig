//! One stream connection: whole-frame reads and writes over a Unix socket, with fds passed by
//! SCM_RIGHTS (one fd per sendmsg, carried by one dummy byte that follows the frame it belongs to).
//! Invariants: a frame is handed out only when complete and within the connection's size limit;
//! the receive buffer never grows past the allowance the caller granted, and shrinks back to its
//! initial size whenever it empties; queued output keeps its byte order, and each queued fd
//! travels with its own dummy byte.
const std = @import("std");
const linux = std.os.linux;
const constants = @import("constants.zig");
const status_mod = @import("status.zig");
const Status = status_mod.Status;
const syscallError = status_mod.syscallError;

const gpa = std.heap.c_allocator;
/// Buffers that grow with a peer's frames come from whole pages (mmap), so freeing a grown one
/// gives its memory back to the system at once (malloc would keep mid-sized blocks in its heap).
const buffers = std.heap.page_allocator;
const header_bytes = constants.frame_header_bytes;
const dummy_byte = [1]u8{0};
const scm_rights: i32 = 1;
const f_dupfd_cloexec: i32 = 1030;

const QueuedFd = struct { stream_offset: u64, fd: i32 };

/// Header words handed to the caller as six u32s (little-endian halves of cookie, type, length),
/// so that JavaScript reads them without allocating BigInts.
pub const HeaderOut = [6]u32;

pub const Connection = struct {
    fd: i32,
    blocking: bool,
    /// Largest payload accepted from the peer (checked from the header alone).
    payload_bytes_max: u64,
    /// Largest payload this side may send.
    send_payload_bytes_max: u64,
    /// A broken stream stays broken: every later read reports the first failure.
    read_failure: Status = .ok,
    write_failure: Status = .ok,

    receive_buffer: []u8,
    /// Largest receive buffer the caller allows (its memory budget); growing past it reports
    /// budget_exceeded with the size wanted, and the caller may raise it and read again.
    receive_bytes_allowed: usize = std.math.maxInt(usize),
    /// The buffer size the last budget_exceeded asked for.
    receive_bytes_wanted: usize = 0,
    receive_start: usize = 0,
    receive_end: usize = 0,
    /// Bytes of the frame lent to the caller in place (see lendFrame), consumed at the next read.
    lent_bytes: usize = 0,
    /// The last receive found the socket empty (it read less than it had room for, or would
    /// block): see readBufferedFrame.
    drained: bool = false,
    received_fds: [constants.received_fds_max]i32 = undefined,
    received_fd_count: usize = 0,

    send_queue: std.ArrayListUnmanaged(u8) = .{},
    /// Stream offset of send_queue.items[0] and of the next byte to send.
    send_base_offset: u64 = 0,
    send_next_offset: u64 = 0,
    send_fds: std.ArrayListUnmanaged(QueuedFd) = .{},
    send_fd_head: usize = 0,

    /// Takes ownership of `fd`; it is closed by destroy().
    pub fn create(fd: i32, payload_bytes_max: u64, send_payload_bytes_max: u64, out: **Connection) Status {
        if (fd < 0 or payload_bytes_max == 0 or payload_bytes_max > constants.frame_payload_bytes_max)
            return .invalid_argument;
        if (send_payload_bytes_max == 0 or send_payload_bytes_max > constants.frame_payload_bytes_max)
            return .invalid_argument;
        const rc = linux.fcntl(fd, linux.F.GETFL, 0);
        if (syscallError(rc)) |err| return status_mod.fromErrno(err);
        const self = gpa.create(Connection) catch return .system_resources;
        const buffer = buffers.alloc(u8, constants.receive_buffer_bytes_initial) catch {
            gpa.destroy(self);
            return .system_resources;
        };
        const nonblock: usize = 1 << @bitOffsetOf(linux.O, "NONBLOCK");
        self.* = .{ .fd = fd, .blocking = rc & nonblock == 0, .payload_bytes_max = payload_bytes_max, .send_payload_bytes_max = send_payload_bytes_max, .receive_buffer = buffer };
        out.* = self;
        return .ok;
    }

    pub fn destroy(self: *Connection) void {
        for (self.received_fds[0..self.received_fd_count]) |fd| _ = linux.close(fd);
        for (self.send_fds.items[self.send_fd_head..]) |queued| _ = linux.close(queued.fd);
        self.send_fds.deinit(gpa);
        self.send_queue.deinit(buffers);
        buffers.free(self.receive_buffer);
        _ = linux.close(self.fd);
        gpa.destroy(self);
    }

    // ---------------------------------------------------------------- reading

    /// Copies the next whole frame's payload into `payload` and its header into `header_out`.
    /// wait_ms: 0 never waits (would_block), -1 waits forever, else up to that long (timed_out).
    /// buffer_too_small leaves the frame in place and reports its length in header_out.
    pub fn readFrame(self: *Connection, header_out: *HeaderOut, payload: [*]u8, capacity: u32, wait_ms: i32) Status {
        return self.nextFrame(header_out, .{ .copy = payload[0..capacity] }, wait_ms, false);
    }

    /// Like readFrame with wait_ms 0, but when no whole frame is buffered and the last receive
    /// emptied the socket, reports would_block without a system call: a caller driven by a
    /// level-triggered poller hears of new bytes anyway. Saves the recvmsg that fails with EAGAIN
    /// after the last frame of each burst (one per request for a client that waits for replies).
    pub fn readBufferedFrame(self: *Connection, header_out: *HeaderOut, payload: [*]u8, capacity: u32) Status {
        return self.nextFrame(header_out, .{ .copy = payload[0..capacity] }, 0, true);
    }

    /// Like readFrame, but lends the payload in place instead of copying it: `payload_out` points
    /// into the receive buffer until the next read or takeFd (which may move or free it).
    pub fn lendFrame(self: *Connection, header_out: *HeaderOut, payload_out: *[*]u8, wait_ms: i32) Status {
        return self.nextFrame(header_out, .{ .lend = payload_out }, wait_ms, false);
    }

    const FrameDestination = union(enum) { copy: []u8, lend: *[*]u8 };

    fn nextFrame(self: *Connection, header_out: *HeaderOut, destination: FrameDestination, wait_ms: i32, unless_drained: bool) Status {
        if (self.read_failure != .ok) return self.read_failure;
        self.returnLent();
        while (true) {
            const buffered = self.receive_end - self.receive_start;
            if (buffered >= header_bytes) {
                const frame = self.parseHeader(header_out) orelse return self.failRead(.frame_too_large);
                if (buffered >= header_bytes + frame) {
                    const start = self.receive_start + header_bytes;
                    switch (destination) {
                        .copy => |payload| {
                            if (frame > payload.len) return .buffer_too_small;
                            @memcpy(payload[0..frame], self.receive_buffer[start..][0..frame]);
                            self.consume(header_bytes + frame);
                        },
                        .lend => |payload_out| {
                            payload_out.* = self.receive_buffer[start..].ptr;
                            self.lent_bytes = header_bytes + frame;
                        },
                    }
                    return .ok;
                }
                // Grow with the bytes that arrive, not with the header's claim: a peer that
                // announces a large frame and sends nothing costs no memory.
                const room = self.reserve(@min(header_bytes + frame, buffered + constants.receive_chunk_bytes), header_bytes + frame);
                if (room == .budget_exceeded) return room;
                if (room != .ok) return self.failRead(room);
            }
            if (unless_drained and self.drained) return .would_block;
            const filled = self.fill(wait_ms);
            if (filled != .ok) return filled;
        }
    }

    /// Takes the fd that follows the frame just read: consumes its dummy byte and returns the fd.
    pub fn takeFd(self: *Connection, wait_ms: i32, fd_out: *i32) Status {
        if (self.read_failure != .ok) return self.read_failure;
        self.returnLent();
        while (self.receive_end == self.receive_start) {
            const filled = self.fill(wait_ms);
            if (filled != .ok) return filled;
        }
        // The kernel delivers an fd with the recvmsg that returns its byte, so it is here by now.
        if (self.received_fd_count == 0) return self.failRead(.fd_missing);
        self.consume(1);
        fd_out.* = self.received_fds[0];
        std.mem.copyForwards(i32, self.received_fds[0 .. self.received_fd_count - 1], self.received_fds[1..self.received_fd_count]);
        self.received_fd_count -= 1;
        return .ok;
    }

    /// Bytes received but not yet handed out, for callers that must know if a frame is pending.
    pub fn bufferedBytes(self: *const Connection) usize {
        return self.receive_end - self.receive_start - self.lent_bytes;
    }

    /// The frame lent by lendFrame is done with: consume it (the buffer may shrink).
    fn returnLent(self: *Connection) void {
        if (self.lent_bytes == 0) return;
        const lent = self.lent_bytes;
        self.lent_bytes = 0;
        self.consume(lent);
    }

    /// Sets the largest receive buffer allowed (at least the initial size, which is always kept).
    pub fn allowReceiveBytes(self: *Connection, bytes: usize) void {
        self.receive_bytes_allowed = @max(bytes, constants.receive_buffer_bytes_initial);
    }

    /// The payload length of the buffered header, or null when it is negative or over the limit.
    fn parseHeader(self: *Connection, header_out: *HeaderOut) ?usize {
        const bytes = self.receive_buffer[self.receive_start..][0..header_bytes];
        for (0..6) |word| header_out[word] = std.mem.readInt(u32, bytes[word * 4 ..][0..4], .little);
        const length = std.mem.readInt(i64, bytes[16..24], .little);
        if (length < 0 or @as(u64, @intCast(length)) > self.payload_bytes_max) return null;
        return @intCast(length);
    }

    fn failRead(self: *Connection, status: Status) Status {
        self.read_failure = status;
        return status;
    }

    fn consume(self: *Connection, bytes: usize) void {
        std.debug.assert(bytes <= self.receive_end - self.receive_start);
        self.receive_start += bytes;
        if (self.receive_start == self.receive_end) {
            self.receive_start = 0;
            self.receive_end = 0;
            self.shrinkReceiveBuffer();
        }
    }

    /// An empty buffer that grew for a large frame goes back to its initial size (and its pages
    /// back to the system), so memory taken by a burst is not kept by an idle connection.
    fn shrinkReceiveBuffer(self: *Connection) void {
        std.debug.assert(self.receive_end == 0);
        if (self.receive_buffer.len <= constants.receive_buffer_bytes_initial) return;
        // On failure the larger buffer is simply kept: shrinking is an optimisation.
        const small = buffers.alloc(u8, constants.receive_buffer_bytes_initial) catch return;
        buffers.free(self.receive_buffer);
        self.receive_buffer = small;
        // A budgeted connection gives its grant back with the memory: the next large frame asks again.
        if (self.receive_bytes_allowed != std.math.maxInt(usize)) self.receive_bytes_allowed = small.len;
        std.debug.assert(self.receive_buffer.len == constants.receive_buffer_bytes_initial);
    }

    /// Makes room for `total` bytes starting at receive_start, growing (doubling, but never past
    /// `limit` nor the allowance) when the buffer is too small.
    fn reserve(self: *Connection, total: usize, limit: usize) Status {
        std.debug.assert(total <= limit);
        if (self.receive_start + total <= self.receive_buffer.len) return .ok;
        const buffered = self.receive_end - self.receive_start;
        std.mem.copyForwards(u8, self.receive_buffer[0..buffered], self.receive_buffer[self.receive_start..self.receive_end]);
        self.receive_start = 0;
        self.receive_end = buffered;
        if (total <= self.receive_buffer.len) return .ok;
        const wanted = @max(total, @min(self.receive_buffer.len * 2, limit));
        if (wanted > self.receive_bytes_allowed) {
            self.receive_bytes_wanted = wanted;
            return .budget_exceeded;
        }
        const grown = buffers.realloc(self.receive_buffer, wanted) catch return .system_resources;
        self.receive_buffer = grown;
        std.debug.assert(self.receive_buffer.len <= self.receive_bytes_allowed);
        return .ok;
    }

    /// One recvmsg into the free tail of the buffer, waiting as wait_ms allows.
    fn fill(self: *Connection, wait_ms: i32) Status {
        if (self.receive_end == self.receive_buffer.len) {
            const wanted = self.receive_end - self.receive_start + constants.receive_chunk_bytes;
            const room = self.reserve(wanted, wanted);
            if (room == .budget_exceeded) return room;
            if (room != .ok) return self.failRead(room);
        }
        while (true) {
            const received = self.receiveOnce(wait_ms < 0 and self.blocking);
            if (received != .would_block or wait_ms == 0) return received;
            const ready = waitFor(self.fd, linux.POLL.IN, wait_ms);
            if (ready != .ok) return ready;
        }
    }

    fn receiveOnce(self: *Connection, may_block: bool) Status {
        const free = self.receive_buffer[self.receive_end..];
        var iov = [1]std.posix.iovec{.{ .base = free.ptr, .len = @min(free.len, constants.receive_chunk_bytes) }};
        var control: [control_bytes]u8 align(@alignOf(CmsgHeader)) = undefined;
        var message = linux.msghdr{ .name = null, .namelen = 0, .iov = &iov, .iovlen = 1, .control = &control, .controllen = control.len, .flags = 0 };
        const dont_wait: u32 = if (may_block) 0 else linux.MSG.DONTWAIT;
        const flags: u32 = linux.MSG.CMSG_CLOEXEC | dont_wait;
        while (true) {
            const rc = linux.recvmsg(self.fd, &message, flags);
            if (syscallError(rc)) |err| {
                if (err == .INTR) continue;
                if (err == .AGAIN) self.drained = true;
                if (err == .AGAIN) return .would_block;
                return self.failRead(status_mod.fromErrno(err));
            }
            const fds_status = self.collectFds(&message, &control);
            if (rc == 0) return self.failRead(.peer_closed);
            self.receive_end += rc;
            self.drained = rc < iov[0].len;
            if (fds_status != .ok) return self.failRead(fds_status);
            return .ok;
        }
    }

    /// Keeps the fd of a well-formed message; a message with more than one fd (or a truncated
    /// control buffer) is a protocol error: every fd it carried is closed.
    fn collectFds(self: *Connection, message: *const linux.msghdr, control: []const u8) Status {
        var fds: [constants.control_fds_max * 2]i32 = undefined;
        var count: usize = 0;
        var offset: usize = 0;
        const used = @min(message.controllen, control.len);
        while (offset + @sizeOf(CmsgHeader) <= used) {
            const header: *const CmsgHeader = @alignCast(@ptrCast(control[offset..].ptr));
            if (header.len < @sizeOf(CmsgHeader) or offset + header.len > used) break;
            if (header.level == linux.SOL.SOCKET and header.type == scm_rights) {
                const data = control[offset + @sizeOf(CmsgHeader) .. offset + header.len];
                var index: usize = 0;
                while (index + 4 <= data.len and count < fds.len) : (index += 4) {
                    fds[count] = std.mem.readInt(i32, data[index..][0..4], .little);
                    count += 1;
                }
            }
            offset += std.mem.alignForward(usize, header.len, @alignOf(CmsgHeader));
        }
        const truncated = message.flags & linux.MSG.CTRUNC != 0;
        if (count == 0 and !truncated) return .ok;
        if (count == 1 and !truncated and self.received_fd_count < self.received_fds.len) {
            self.received_fds[self.received_fd_count] = fds[0];
            self.received_fd_count += 1;
            return .ok;
        }
        for (fds[0..count]) |fd| _ = linux.close(fd);
        return .fd_count_invalid;
    }

    // ---------------------------------------------------------------- writing

    /// Sends one frame, or queues what the socket does not take now. Returns ok when everything
    /// is sent, queued when bytes wait for the socket to drain (call flush on writability).
    pub fn writeFrame(self: *Connection, cookie: u64, message_type: u32, payload: [*]const u8, length: u32, wait_ms: i32) Status {
        if (self.write_failure != .ok) return self.write_failure;
        if (length > self.send_payload_bytes_max) return .frame_too_large;
        var header: [header_bytes]u8 = undefined;
        encodeHeader(&header, cookie, message_type, length);
        var sent: usize = 0;
        if (self.sendQueueEmpty()) {
            const direct = self.sendDirect(&header, payload[0..length], &sent);
            if (direct != .ok) return direct;
            if (sent == header_bytes + length) return .ok;
        }
        const queued = self.enqueueRemainder(&header, payload[0..length], sent);
        if (queued != .ok) return self.failWrite(queued);
        return self.flush(wait_ms);
    }

    /// Appends one frame to the send queue without sending it: callers batch several frames
    /// (pipelined requests, or replies to every request drained from a socket) into one flush.
    pub fn queueFrame(self: *Connection, cookie: u64, message_type: u32, payload: [*]const u8, length: u32) Status {
        if (self.write_failure != .ok) return self.write_failure;
        if (length > self.send_payload_bytes_max) return .frame_too_large;
        var header: [header_bytes]u8 = undefined;
        encodeHeader(&header, cookie, message_type, length);
        const queued = self.enqueueRemainder(&header, payload[0..length], 0);
        if (queued != .ok) return self.failWrite(queued);
        return .ok;
    }

    /// Appends raw bytes (no frame header) to the send queue: for streams of another format that
    /// share the queue's non-blocking writes, such as Arrow's notification socket.
    pub fn queueBytes(self: *Connection, bytes: [*]const u8, length: u32) Status {
        if (self.write_failure != .ok) return self.write_failure;
        if (length > self.send_payload_bytes_max) return .frame_too_large;
        const queued = self.enqueueRemainder(&[_]u8{}, bytes[0..length], 0);
        if (queued != .ok) return self.failWrite(queued);
        return .ok;
    }

    /// Sends `fd` after everything written so far. The fd is duplicated, so the caller keeps its own.
    pub fn sendFd(self: *Connection, fd: i32, wait_ms: i32) Status {
        if (self.write_failure != .ok) return self.write_failure;
        if (fd < 0) return .invalid_argument;
        if (self.send_fds.items.len - self.send_fd_head >= constants.queued_fds_max) return self.failWrite(.output_queue_full);
        const rc = linux.fcntl(fd, f_dupfd_cloexec, 0);
        if (syscallError(rc)) |err| return status_mod.fromErrno(err);
        const copy: i32 = @intCast(rc);
        const offset = self.send_base_offset + self.send_queue.items.len;
        self.send_queue.append(buffers, dummy_byte[0]) catch {
            _ = linux.close(copy);
            return self.failWrite(.system_resources);
        };
        self.send_fds.append(gpa, .{ .stream_offset = offset, .fd = copy }) catch {
            self.send_queue.items.len -= 1;
            _ = linux.close(copy);
            return self.failWrite(.system_resources);
        };
        return self.flush(wait_ms);
    }

    /// Sends queued bytes and fds in order: ok when the queue is empty, queued when the socket is full.
    pub fn flush(self: *Connection, wait_ms: i32) Status {
        if (self.write_failure != .ok) return self.write_failure;
        while (!self.sendQueueEmpty()) {
            const step = self.sendQueuedStep();
            if (step == .would_block) {
                if (wait_ms == 0) return .queued;
                const ready = waitFor(self.fd, linux.POLL.OUT, wait_ms);
                if (ready != .ok) return ready;
                continue;
            }
            if (step != .ok) return self.failWrite(step);
        }
        // A queue that grew for a burst of replies gives its pages back once it has drained.
        if (self.send_queue.capacity > constants.send_queue_bytes_retained) {
            self.send_queue.clearAndFree(buffers);
        } else {
            self.send_queue.clearRetainingCapacity();
        }
        self.send_base_offset = self.send_next_offset;
        return .ok;
    }

    pub fn queuedBytes(self: *const Connection) u64 {
        return self.send_base_offset + self.send_queue.items.len - self.send_next_offset;
    }

    fn sendQueueEmpty(self: *const Connection) bool {
        return self.queuedBytes() == 0;
    }

    fn failWrite(self: *Connection, status: Status) Status {
        self.write_failure = status;
        return status;
    }

    fn sendDirect(self: *Connection, header: []const u8, payload: []const u8, sent: *usize) Status {
        const iov = [2]std.posix.iovec_const{
            .{ .base = header.ptr, .len = header.len },
            .{ .base = payload.ptr, .len = payload.len },
        };
        const count: usize = if (payload.len == 0) 1 else 2;
        const result = sendVector(self.fd, iov[0..count], null);
        switch (result) {
            .sent => |bytes| sent.* = bytes,
            .would_block => sent.* = 0,
            .failed => |status| return self.failWrite(status),
        }
        self.send_base_offset += sent.*;
        self.send_next_offset += sent.*;
        return .ok;
    }

    fn enqueueRemainder(self: *Connection, header: []const u8, payload: []const u8, sent: usize) Status {
        const total = header.len + payload.len;
        if (self.queuedBytes() + total - sent > constants.send_queue_bytes_max) return .output_queue_full;
        self.compactSendQueue();
        self.send_queue.ensureUnusedCapacity(buffers, total - sent) catch return .system_resources;
        if (sent < header.len) self.send_queue.appendSliceAssumeCapacity(header[sent..]);
        const payload_sent = if (sent > header.len) sent - header.len else 0;
        self.send_queue.appendSliceAssumeCapacity(payload[payload_sent..]);
        return .ok;
    }

    /// Drops the already-sent prefix once it is at least half the queue.
    fn compactSendQueue(self: *Connection) void {
        const sent_in_queue: usize = @intCast(self.send_next_offset - self.send_base_offset);
        if (sent_in_queue == 0 or sent_in_queue * 2 < self.send_queue.items.len) return;
        const remaining = self.send_queue.items.len - sent_in_queue;
        std.mem.copyForwards(u8, self.send_queue.items[0..remaining], self.send_queue.items[sent_in_queue..]);
        self.send_queue.items.len = remaining;
        self.send_base_offset = self.send_next_offset;
    }

    /// Sends bytes up to the next queued fd, or that fd with its dummy byte.
    fn sendQueuedStep(self: *Connection) Status {
        const queue_end = self.send_base_offset + self.send_queue.items.len;
        const next_fd: ?QueuedFd = if (self.send_fd_head < self.send_fds.items.len) self.send_fds.items[self.send_fd_head] else null;
        const stop = if (next_fd) |queued| queued.stream_offset else queue_end;
        const start_index: usize = @intCast(self.send_next_offset - self.send_base_offset);
        if (next_fd != null and self.send_next_offset == stop) return self.sendQueuedFd(next_fd.?, start_index);
        const stop_index: usize = @intCast(stop - self.send_base_offset);
        const bytes = self.send_queue.items[start_index..stop_index];
        const iov = [1]std.posix.iovec_const{.{ .base = bytes.ptr, .len = bytes.len }};
        return switch (sendVector(self.fd, &iov, null)) {
            .sent => |count| blk: {
                self.send_next_offset += count;
                break :blk .ok;
            },
            .would_block => .would_block,
            .failed => |status| status,
        };
    }

    fn sendQueuedFd(self: *Connection, queued: QueuedFd, index: usize) Status {
        const iov = [1]std.posix.iovec_const{.{ .base = self.send_queue.items[index..].ptr, .len = 1 }};
        return switch (sendVector(self.fd, &iov, queued.fd)) {
            .sent => blk: {
                _ = linux.close(queued.fd);
                self.send_fd_head += 1;
                self.send_next_offset += 1;
                if (self.send_fd_head == self.send_fds.items.len) {
                    self.send_fds.clearRetainingCapacity();
                    self.send_fd_head = 0;
                }
                break :blk .ok;
            },
            .would_block => .would_block,
            .failed => |status| status,
        };
    }
};

fn encodeHeader(header: *[header_bytes]u8, cookie: u64, message_type: u32, length: u32) void {
    std.mem.writeInt(u64, header[0..8], cookie, .little);
    std.mem.writeInt(i64, header[8..16], message_type, .little);
    std.mem.writeInt(i64, header[16..24], length, .little);
}

const CmsgHeader = extern struct { len: usize, level: i32, type: i32 };
const control_bytes = @sizeOf(CmsgHeader) + std.mem.alignForward(usize, constants.control_fds_max * 4, @alignOf(CmsgHeader));

const SendResult = union(enum) { sent: usize, would_block, failed: Status };

/// One non-blocking sendmsg (never SIGPIPE), optionally carrying one fd.
fn sendVector(fd: i32, iov: []const std.posix.iovec_const, pass_fd: ?i32) SendResult {
    var control: [@sizeOf(CmsgHeader) + 8]u8 align(@alignOf(CmsgHeader)) = undefined;
    var message = linux.msghdr_const{ .name = null, .namelen = 0, .iov = iov.ptr, .iovlen = @intCast(iov.len), .control = null, .controllen = 0, .flags = 0 };
    if (pass_fd) |passed| {
        const header: *CmsgHeader = @ptrCast(&control);
        header.* = .{ .len = @sizeOf(CmsgHeader) + 4, .level = linux.SOL.SOCKET, .type = scm_rights };
        std.mem.writeInt(i32, control[@sizeOf(CmsgHeader)..][0..4], passed, .little);
        message.control = &control;
        message.controllen = control.len;
    }
    while (true) {
        const rc = linux.sendmsg(fd, &message, linux.MSG.NOSIGNAL | linux.MSG.DONTWAIT);
        const err = syscallError(rc) orelse return .{ .sent = rc };
        switch (err) {
            .INTR => continue,
            .AGAIN => return .would_block,
            else => return .{ .failed = status_mod.fromErrno(err) },
        }
    }
}

/// Waits until `fd` has any of `events`; timed_out after wait_ms (-1: forever).
pub fn waitFor(fd: i32, events: i16, wait_ms: i32) Status {
    var poll_fd = [1]linux.pollfd{.{ .fd = fd, .events = events, .revents = 0 }};
    while (true) {
        const rc = linux.poll(&poll_fd, 1, wait_ms);
        if (syscallError(rc)) |err| {
            if (err == .INTR) continue;
            return status_mod.fromErrno(err);
        }
        if (rc == 0) return .timed_out;
        return .ok; // readable, writable, hangup or error: the next read or write tells which
    }
}

// ---------------------------------------------------------------- tests

const testing = std.testing;

fn testPair(payload_bytes_max: u64) ![2]*Connection {
    var fds: [2]i32 = undefined;
    try testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.NONBLOCK, 0, &fds));
    var pair: [2]*Connection = undefined;
    try testing.expectEqual(Status.ok, Connection.create(fds[0], payload_bytes_max, payload_bytes_max, &pair[0]));
    try testing.expectEqual(Status.ok, Connection.create(fds[1], payload_bytes_max, payload_bytes_max, &pair[1]));
    return pair;
}

test "a frame written on one end is read whole on the other" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    try testing.expectEqual(Status.ok, pair[0].writeFrame(0x5241590000000000, 7, "hello", 5, 0));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqualSlices(u8, "hello", payload[0..5]);
    try testing.expectEqual(@as(u32, 0x52415900), header[1]);
    try testing.expectEqual(@as(u32, 7), header[2]);
    try testing.expectEqual(@as(u32, 5), header[4]);
    try testing.expectEqual(Status.would_block, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqual(Status.timed_out, pair[1].readFrame(&header, &payload, payload.len, 5));
}

test "a buffered read serves buffered frames and skips the receive once the socket was found empty" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 1, "one", 3, 0));
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 2, "two", 3, 0));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    // One receive takes both frames and finds the socket empty behind them.
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expect(pair[1].drained);
    try testing.expectEqual(Status.ok, pair[1].readBufferedFrame(&header, &payload, payload.len));
    try testing.expectEqualSlices(u8, "two", payload[0..3]);
    // A frame that arrives now is not looked for (a poller would report it)...
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 3, "three", 5, 0));
    try testing.expectEqual(Status.would_block, pair[1].readBufferedFrame(&header, &payload, payload.len));
    // ...and a plain read receives it, after which the socket is empty again.
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqualSlices(u8, "three", payload[0..5]);
    try testing.expect(pair[1].drained);
}

test "a buffered read receives when the last receive filled its room (more may be waiting)" {
    const pair = try testPair(1 << 20);
    defer for (pair) |c| c.destroy();
    const big = try testing.allocator.alloc(u8, constants.receive_chunk_bytes * 2);
    defer testing.allocator.free(big);
    @memset(big, 7);
    _ = pair[0].writeFrame(1, 1, big.ptr, @intCast(big.len), 0);
    while (pair[0].queuedBytes() > 0) _ = pair[0].flush(50);
    var header: HeaderOut = undefined;
    const payload = try testing.allocator.alloc(u8, big.len);
    defer testing.allocator.free(payload);
    // The first receive fills a whole chunk: not drained, so the buffered read goes on receiving.
    try testing.expectEqual(Status.ok, pair[1].receiveOnce(false));
    try testing.expect(!pair[1].drained);
    var status = pair[1].readBufferedFrame(&header, payload.ptr, @intCast(payload.len));
    while (status == .would_block and !pair[1].drained) status = pair[1].readBufferedFrame(&header, payload.ptr, @intCast(payload.len));
    try testing.expectEqual(Status.ok, status);
    try testing.expectEqual(@as(u32, @intCast(big.len)), header[4]);
}

test "a frame over the limit is refused and the stream stays failed" {
    const pair = try testPair(8);
    defer for (pair) |c| c.destroy();
    try testing.expectEqual(Status.frame_too_large, pair[0].writeFrame(1, 1, "123456789", 9, 0));
    pair[0].send_payload_bytes_max = 64;
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 1, "123456789", 9, 0));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    try testing.expectEqual(Status.frame_too_large, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqual(Status.frame_too_large, pair[1].readFrame(&header, &payload, payload.len, 0));
}

test "a small caller buffer gets buffer_too_small and the frame stays readable" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 2, "0123456789", 10, 0));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    try testing.expectEqual(Status.buffer_too_small, pair[1].readFrame(&header, &payload, 4, 0));
    try testing.expectEqual(@as(u32, 10), header[4]);
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqualSlices(u8, "0123456789", payload[0..10]);
}

test "a peer that closes mid-frame is reported as disconnected" {
    const pair = try testPair(1024);
    defer pair[1].destroy();
    var partial: [30]u8 = undefined;
    std.mem.writeInt(u64, partial[0..8], 1, .little);
    std.mem.writeInt(i64, partial[8..16], 1, .little);
    std.mem.writeInt(i64, partial[16..24], 100, .little);
    _ = linux.write(pair[0].fd, &partial, partial.len);
    pair[0].destroy();
    var header: HeaderOut = undefined;
    var payload: [128]u8 = undefined;
    try testing.expectEqual(Status.peer_closed, pair[1].readFrame(&header, &payload, payload.len, -1));
}

test "large frames are queued when the socket is full and arrive in order after flushes" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    const big = try testing.allocator.alloc(u8, 3 << 20);
    defer testing.allocator.free(big);
    for (big, 0..) |*byte, index| byte.* = @truncate(index *% 31);
    try testing.expectEqual(Status.queued, pair[0].writeFrame(1, 1, big.ptr, @intCast(big.len), 0));
    try testing.expectEqual(Status.queued, pair[0].writeFrame(1, 2, "tail", 4, 0));
    const got = try testing.allocator.alloc(u8, 4 << 20);
    defer testing.allocator.free(got);
    var header: HeaderOut = undefined;
    var frames: u32 = 0;
    while (frames < 2) {
        _ = pair[0].flush(0);
        const status = pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0);
        if (status == .would_block) continue;
        try testing.expectEqual(Status.ok, status);
        frames += 1;
        if (frames == 1) try testing.expectEqualSlices(u8, big, got[0..big.len]);
        if (frames == 2) try testing.expectEqualSlices(u8, "tail", got[0..4]);
    }
    try testing.expectEqual(@as(u64, 0), pair[0].queuedBytes());
}

test "queued frames go out in order with one flush" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    try testing.expectEqual(Status.ok, pair[0].queueFrame(1, 1, "one", 3));
    try testing.expectEqual(Status.ok, pair[0].queueFrame(1, 2, "two", 3));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    try testing.expectEqual(Status.would_block, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqual(@as(u64, 2 * (header_bytes + 3)), pair[0].queuedBytes());
    try testing.expectEqual(Status.ok, pair[0].flush(0));
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqualSlices(u8, "one", payload[0..3]);
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqual(@as(u32, 2), header[2]);
}

test "an fd sent after a frame is taken after that frame" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    var extra: [2]i32 = undefined;
    try testing.expectEqual(@as(usize, 0), linux.pipe2(&extra, .{ .CLOEXEC = true }));
    defer _ = linux.close(extra[0]);
    defer _ = linux.close(extra[1]);
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 3, "reply", 5, 0));
    try testing.expectEqual(Status.ok, pair[0].sendFd(extra[1], 0));
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 4, "next", 4, 0));
    var header: HeaderOut = undefined;
    var payload: [16]u8 = undefined;
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    var received: i32 = -1;
    try testing.expectEqual(Status.ok, pair[1].takeFd(0, &received));
    defer _ = linux.close(received);
    _ = linux.write(received, "x", 1);
    var byte: [1]u8 = undefined;
    try testing.expectEqual(@as(usize, 1), linux.read(extra[0], &byte, 1));
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, &payload, payload.len, 0));
    try testing.expectEqualSlices(u8, "next", payload[0..4]);
}

test "two fds in one message fail cleanly and are closed" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    var extra: [2]i32 = undefined;
    try testing.expectEqual(@as(usize, 0), linux.pipe2(&extra, .{ .CLOEXEC = true }));
    defer _ = linux.close(extra[0]);
    defer _ = linux.close(extra[1]);
    var control: [@sizeOf(CmsgHeader) + 8]u8 align(@alignOf(CmsgHeader)) = undefined;
    const header: *CmsgHeader = @ptrCast(&control);
    header.* = .{ .len = @sizeOf(CmsgHeader) + 8, .level = linux.SOL.SOCKET, .type = scm_rights };
    std.mem.writeInt(i32, control[16..20], extra[0], .little);
    std.mem.writeInt(i32, control[20..24], extra[1], .little);
    const iov = [1]std.posix.iovec_const{.{ .base = &dummy_byte, .len = 1 }};
    const message = linux.msghdr_const{ .name = null, .namelen = 0, .iov = &iov, .iovlen = 1, .control = &control, .controllen = control.len, .flags = 0 };
    try testing.expectEqual(@as(usize, 1), linux.sendmsg(pair[0].fd, &message, 0));
    var received: i32 = -1;
    try testing.expectEqual(Status.fd_count_invalid, pair[1].takeFd(0, &received));
    try testing.expectEqual(@as(usize, 0), pair[1].received_fd_count);
}

test "a dummy byte without an fd is reported as fd_missing" {
    const pair = try testPair(1024);
    defer for (pair) |c| c.destroy();
    _ = linux.write(pair[0].fd, &dummy_byte, 1);
    var received: i32 = -1;
    try testing.expectEqual(Status.fd_missing, pair[1].takeFd(0, &received));
}

/// Writes `bytes` raw into the socket from a blocking loop (the test's peer side).
fn writeAll(fd: i32, bytes: []const u8) !void {
    var sent: usize = 0;
    while (sent < bytes.len) {
        const rc = linux.write(fd, bytes[sent..].ptr, bytes.len - sent);
        if (syscallError(rc)) |err| {
            if (err == .AGAIN) continue;
            return error.WriteFailed;
        }
        sent += rc;
    }
}

test "a frame past the receive allowance reports budget_exceeded until the allowance grows" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    pair[1].allowReceiveBytes(0); // just the initial buffer
    const big = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(big);
    @memset(big, 7);
    var header: HeaderOut = undefined;
    const got = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(got);
    var status = pair[0].writeFrame(1, 1, big.ptr, @intCast(big.len), 0);
    try testing.expect(status == .ok or status == .queued);
    status = pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0);
    try testing.expectEqual(Status.budget_exceeded, status);
    try testing.expectEqual(constants.receive_buffer_bytes_initial, pair[1].receive_buffer.len);
    try testing.expect(pair[1].receive_bytes_wanted > constants.receive_buffer_bytes_initial);
    try testing.expectEqual(@as(u32, 1 << 20), header[4]);
    // Not a broken stream: once allowed, the same frame is read whole.
    pair[1].allowReceiveBytes(header_bytes + (1 << 20));
    while (true) {
        _ = pair[0].flush(0);
        status = pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0);
        if (status != .would_block) break;
    }
    try testing.expectEqual(Status.ok, status);
    try testing.expectEqualSlices(u8, big, got);
}

test "a receive buffer grown for a large frame shrinks back once the frame is read" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    pair[1].allowReceiveBytes(8 << 20);
    const big = try testing.allocator.alloc(u8, 3 << 20);
    defer testing.allocator.free(big);
    const got = try testing.allocator.alloc(u8, 3 << 20);
    defer testing.allocator.free(got);
    var header: HeaderOut = undefined;
    _ = pair[0].writeFrame(1, 1, big.ptr, @intCast(big.len), 0);
    var largest: usize = 0;
    while (true) {
        _ = pair[0].flush(0);
        const status = pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0);
        largest = @max(largest, pair[1].receive_buffer.len);
        if (status == .ok) break;
        try testing.expectEqual(Status.would_block, status);
    }
    try testing.expect(largest >= 3 << 20);
    // Never past the frame itself (doubling is clamped to header + payload).
    try testing.expect(largest <= header_bytes + (3 << 20));
    try testing.expectEqual(constants.receive_buffer_bytes_initial, pair[1].receive_buffer.len);
    // The grant went back with the memory: the next large frame must ask again.
    try testing.expectEqual(constants.receive_buffer_bytes_initial, pair[1].receive_bytes_allowed);
    try testing.expectEqual(Status.ok, pair[0].writeFrame(1, 2, "small", 5, 0));
    try testing.expectEqual(Status.ok, pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0));
    try testing.expectEqualSlices(u8, "small", got[0..5]);
}

test "a partial frame keeps its buffer: only an empty buffer shrinks" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    var partial: [header_bytes + 200_000]u8 = undefined;
    @memset(&partial, 1);
    std.mem.writeInt(u64, partial[0..8], 1, .little);
    std.mem.writeInt(i64, partial[8..16], 1, .little);
    std.mem.writeInt(i64, partial[16..24], 300_000, .little);
    try writeAll(pair[0].fd, &partial);
    var header: HeaderOut = undefined;
    var got: [16]u8 = undefined;
    while (pair[1].readFrame(&header, &got, got.len, 0) == .ok) {}
    while (pair[1].bufferedBytes() < partial.len) _ = pair[1].readFrame(&header, &got, got.len, 0);
    try testing.expect(pair[1].receive_buffer.len >= partial.len);
}

test "a send queue grown for a burst gives its memory back once flushed" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    const big = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(big);
    try testing.expectEqual(Status.ok, pair[0].queueFrame(1, 1, big.ptr, @intCast(big.len)));
    try testing.expect(pair[0].send_queue.capacity >= 1 << 20);
    var header: HeaderOut = undefined;
    const got = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(got);
    while (pair[0].flush(0) != .ok) _ = pair[1].readFrame(&header, got.ptr, @intCast(got.len), 0);
    try testing.expect(pair[0].send_queue.capacity <= constants.send_queue_bytes_retained);
}

test "a lent frame is read in place and consumed by the next read" {
    const pair = try testPair(4 << 20);
    defer for (pair) |c| c.destroy();
    const big = try testing.allocator.alloc(u8, 1 << 20);
    defer testing.allocator.free(big);
    for (big, 0..) |*byte, index| byte.* = @truncate(index *% 7);
    _ = pair[0].writeFrame(1, 1, big.ptr, @intCast(big.len), 0);
    _ = pair[0].queueFrame(1, 2, "next", 4);
    var header: HeaderOut = undefined;
    var lent: [*]u8 = undefined;
    while (true) {
        _ = pair[0].flush(0);
        const status = pair[1].lendFrame(&header, &lent, 0);
        if (status == .ok) break;
        try testing.expectEqual(Status.would_block, status);
    }
    try testing.expectEqualSlices(u8, big, lent[0..big.len]);
    try testing.expect(pair[1].bufferedBytes() <= header_bytes + 4); // at most the next frame
    var small: [8]u8 = undefined;
    while (true) {
        _ = pair[0].flush(0);
        const status = pair[1].readFrame(&header, &small, small.len, 0);
        if (status == .ok) break;
        try testing.expectEqual(Status.would_block, status);
    }
    try testing.expectEqualSlices(u8, "next", small[0..4]);
    try testing.expectEqual(@as(usize, 0), pair[1].lent_bytes);
    try testing.expectEqual(constants.receive_buffer_bytes_initial, pair[1].receive_buffer.len);
}

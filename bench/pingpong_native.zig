//! Native reference for the raw Unix-socket round trip: the ceiling the TypeScript layer is
//! compared against. Frames are the store's: a 24-byte header (cookie, type, payload length as
//! little-endian int64) then a 64-byte payload, both ways.
//!   pingpong_native server PATH                 single-threaded epoll server, runs until killed
//!   pingpong_native client PATH N [--depth D] [--wait-go]
//!     N requests over one blocking socket, D written before the D replies are read (default 1);
//!     --wait-go: connect and warm up, print `ready`, then start when a line arrives on stdin.
//! The client prints one line of key=value pairs: rate (requests/s), requests, rounds, seconds,
//! start_ms and end_ms (wall clock, so that a driver can add up concurrent clients).
const std = @import("std");
const linux = std.os.linux;

const header_bytes: usize = 24;
const payload_bytes: usize = 64;
const frame_bytes: usize = header_bytes + payload_bytes;
/// Largest payload the server accepts; anything larger is a broken peer and is disconnected.
const request_payload_bytes_max: u64 = 4096;
/// The server indexes connections by fd; fds at or past this are refused.
const connections_max: usize = 1024;
const receive_buffer_bytes: usize = 64 * 1024;
/// Replies produced by one read are sent with one write; a full buffer is sent early.
const send_buffer_bytes: usize = 64 * 1024;
const events_max: u32 = 64;
const depth_max: usize = 256;
const warmup_requests: u64 = 1000;
const connect_attempts_max: u32 = 500;
const request_type: u64 = 1;

comptime {
    std.debug.assert(send_buffer_bytes >= frame_bytes);
    std.debug.assert(receive_buffer_bytes >= header_bytes + request_payload_bytes_max);
}

const SysError = error{ Syscall, PeerClosed, BadFrame, Usage };

fn errnoOf(rc: usize) ?linux.E {
    const signed: isize = @bitCast(rc);
    if (signed >= 0 or signed <= -4096) return null;
    return @enumFromInt(@as(u16, @intCast(-signed)));
}

fn check(rc: usize, what: []const u8) SysError!usize {
    if (errnoOf(rc)) |err| {
        std.debug.print("pingpong_native: {s} failed: {s}\n", .{ what, @tagName(err) });
        return error.Syscall;
    }
    return rc;
}

fn socketAddress(path: []const u8) SysError!linux.sockaddr.un {
    var address = linux.sockaddr.un{ .path = [_]u8{0} ** 108 };
    if (path.len == 0 or path.len >= address.path.len) return error.Usage;
    @memcpy(address.path[0..path.len], path);
    return address;
}

/// Writes all of `bytes`, waiting for writability when a non-blocking socket is full.
fn writeAll(fd: i32, bytes: []const u8) SysError!void {
    var sent: usize = 0;
    while (sent < bytes.len) {
        const rc = linux.sendto(fd, bytes[sent..].ptr, bytes.len - sent, linux.MSG.NOSIGNAL, null, 0);
        if (errnoOf(rc)) |err| switch (err) {
            .INTR => continue,
            .AGAIN => {
                var poll_fd = [1]linux.pollfd{.{ .fd = fd, .events = linux.POLL.OUT, .revents = 0 }};
                _ = linux.poll(&poll_fd, 1, -1);
                continue;
            },
            .PIPE, .CONNRESET => return error.PeerClosed,
            else => return error.Syscall,
        };
        sent += rc;
    }
}

fn writeHeader(out: []u8, cookie: u64, message_type: u64, length: u64) void {
    std.mem.writeInt(u64, out[0..8], cookie, .little);
    std.mem.writeInt(u64, out[8..16], message_type, .little);
    std.mem.writeInt(u64, out[16..24], length, .little);
}

// ---------------------------------------------------------------- server

const Connection = struct {
    receive: [receive_buffer_bytes]u8 = undefined,
    start: usize = 0,
    end: usize = 0,
    open: bool = false,
};

var connections: [connections_max]Connection = undefined;
var send_buffer: [send_buffer_bytes]u8 = undefined;

fn serve(path: []const u8) !void {
    const address = try socketAddress(path);
    const listen_fd: i32 = @intCast(try check(linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC | linux.SOCK.NONBLOCK, 0), "socket"));
    _ = try check(linux.bind(listen_fd, @ptrCast(&address), @sizeOf(linux.sockaddr.un)), "bind");
    _ = try check(linux.listen(listen_fd, 1024), "listen");
    const epoll_fd: i32 = @intCast(try check(linux.epoll_create1(linux.EPOLL.CLOEXEC), "epoll_create1"));
    var listen_event = linux.epoll_event{ .events = linux.EPOLL.IN, .data = .{ .fd = listen_fd } };
    _ = try check(linux.epoll_ctl(epoll_fd, linux.EPOLL.CTL_ADD, listen_fd, &listen_event), "epoll_ctl");
    for (&connections) |*connection| connection.open = false;

    try std.io.getStdOut().writer().print("listening {s}\n", .{path});
    var events: [events_max]linux.epoll_event = undefined;
    while (true) {
        const rc = linux.epoll_wait(epoll_fd, &events, events_max, -1);
        if (errnoOf(rc)) |err| {
            if (err == .INTR) continue;
            _ = try check(rc, "epoll_wait");
        }
        for (events[0..rc]) |event| {
            if (event.data.fd == listen_fd) {
                acceptAll(epoll_fd, listen_fd);
            } else {
                serveReadable(epoll_fd, event.data.fd);
            }
        }
    }
}

fn acceptAll(epoll_fd: i32, listen_fd: i32) void {
    while (true) {
        const rc = linux.accept4(listen_fd, null, null, linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC);
        if (errnoOf(rc)) |err| switch (err) {
            .INTR, .CONNABORTED => continue,
            else => return, // AGAIN: none pending; anything else: try again on the next event
        };
        const fd: i32 = @intCast(rc);
        if (rc >= connections_max) {
            _ = linux.close(fd);
            continue;
        }
        connections[rc] = .{ .open = true };
        var event = linux.epoll_event{ .events = linux.EPOLL.IN | linux.EPOLL.RDHUP, .data = .{ .fd = fd } };
        if (errnoOf(linux.epoll_ctl(epoll_fd, linux.EPOLL.CTL_ADD, fd, &event)) != null) disconnect(epoll_fd, fd);
    }
}

fn disconnect(epoll_fd: i32, fd: i32) void {
    _ = linux.epoll_ctl(epoll_fd, linux.EPOLL.CTL_DEL, fd, null);
    _ = linux.close(fd);
    connections[@intCast(fd)].open = false;
}

/// One read per readiness (the epoll set is level-triggered, so leftovers are reported again),
/// then one reply per whole request, sent together.
fn serveReadable(epoll_fd: i32, fd: i32) void {
    const connection = &connections[@intCast(fd)];
    std.debug.assert(connection.open);
    // answerFrames leaves at most one partial frame at the front, so a whole frame always fits.
    std.debug.assert(connection.start == 0);
    std.debug.assert(connection.end < header_bytes + request_payload_bytes_max);
    const free = connection.receive[connection.end..];
    const rc = linux.read(fd, free.ptr, free.len);
    if (errnoOf(rc)) |err| {
        if (err == .AGAIN or err == .INTR) return;
        return disconnect(epoll_fd, fd);
    }
    if (rc == 0) return disconnect(epoll_fd, fd);
    connection.end += rc;
    answerFrames(fd, connection) catch return disconnect(epoll_fd, fd);
}

fn answerFrames(fd: i32, connection: *Connection) !void {
    var out_len: usize = 0;
    while (connection.end - connection.start >= header_bytes) {
        const header = connection.receive[connection.start..][0..header_bytes];
        const length = std.mem.readInt(u64, header[16..24], .little);
        if (length > request_payload_bytes_max) return error.BadFrame;
        if (connection.end - connection.start < header_bytes + length) break;
        if (out_len + frame_bytes > send_buffer.len) {
            try writeAll(fd, send_buffer[0..out_len]);
            out_len = 0;
        }
        const reply = send_buffer[out_len..][0..frame_bytes];
        writeHeader(reply, std.mem.readInt(u64, header[0..8], .little), std.mem.readInt(u64, header[8..16], .little), payload_bytes);
        @memset(reply[header_bytes..], 0);
        out_len += frame_bytes;
        connection.start += header_bytes + @as(usize, @intCast(length));
    }
    // Keep the partial frame at the front so the next read always has room for a whole one.
    const left = connection.end - connection.start;
    std.mem.copyForwards(u8, connection.receive[0..left], connection.receive[connection.start..connection.end]);
    connection.start = 0;
    connection.end = left;
    if (out_len > 0) try writeAll(fd, send_buffer[0..out_len]);
}

// ---------------------------------------------------------------- client

fn connectWithRetry(path: []const u8) !i32 {
    const address = try socketAddress(path);
    var attempt: u32 = 0;
    while (true) : (attempt += 1) {
        const fd: i32 = @intCast(try check(linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0), "socket"));
        const rc = linux.connect(fd, @ptrCast(&address), @sizeOf(linux.sockaddr.un));
        const err = errnoOf(rc) orelse return fd;
        _ = linux.close(fd);
        // The server may not be listening yet: wait a little, a bounded number of times.
        if ((err == .NOENT or err == .CONNREFUSED) and attempt < connect_attempts_max) {
            std.time.sleep(10 * std.time.ns_per_ms);
            continue;
        }
        _ = try check(rc, "connect");
    }
}

fn readExactly(fd: i32, buffer: []u8) !void {
    var received: usize = 0;
    while (received < buffer.len) {
        const rc = linux.read(fd, buffer[received..].ptr, buffer.len - received);
        if (errnoOf(rc)) |err| {
            if (err == .INTR) continue;
            return error.Syscall;
        }
        if (rc == 0) return error.PeerClosed;
        received += rc;
    }
}

/// `rounds` rounds of `depth` requests written in one write, then `depth` replies read.
fn runRounds(fd: i32, requests: []const u8, replies: []u8, rounds: u64) !void {
    var round: u64 = 0;
    while (round < rounds) : (round += 1) {
        try writeAll(fd, requests);
        try readExactly(fd, replies);
        const length = std.mem.readInt(u64, replies[16..24], .little);
        if (length != payload_bytes) return error.BadFrame;
    }
}

fn wallMs() f64 {
    return @as(f64, @floatFromInt(std.time.nanoTimestamp())) / 1e6;
}

fn client(path: []const u8, requests_total: u64, depth: usize, wait_go: bool) !void {
    if (depth == 0 or depth > depth_max or requests_total < depth) return error.Usage;
    const fd = try connectWithRetry(path);
    defer _ = linux.close(fd);
    var requests: [depth_max * frame_bytes]u8 = undefined;
    var replies: [depth_max * frame_bytes]u8 = undefined;
    for (0..depth) |index| {
        const frame = requests[index * frame_bytes ..][0..frame_bytes];
        writeHeader(frame, index, request_type, payload_bytes);
        @memset(frame[header_bytes..], 0xab);
    }
    const request_bytes = requests[0 .. depth * frame_bytes];
    const reply_bytes = replies[0 .. depth * frame_bytes];
    try runRounds(fd, request_bytes, reply_bytes, @max(1, warmup_requests / depth));

    const stdout = std.io.getStdOut().writer();
    if (wait_go) {
        try stdout.print("ready\n", .{});
        var go: [1]u8 = undefined;
        _ = linux.read(0, &go, 1);
    }
    const rounds = requests_total / depth;
    const start_ms = wallMs();
    var timer = try std.time.Timer.start();
    try runRounds(fd, request_bytes, reply_bytes, rounds);
    const seconds = @as(f64, @floatFromInt(timer.read())) / 1e9;
    const end_ms = wallMs();
    const requests_done = rounds * depth;
    try stdout.print("rate={d:.0} requests={d} rounds={d} seconds={d:.4} start_ms={d:.3} end_ms={d:.3}\n", .{
        @as(f64, @floatFromInt(requests_done)) / seconds, requests_done, rounds, seconds, start_ms, end_ms,
    });
}

pub fn main() !void {
    var arena_state = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena_state.deinit();
    const args = try std.process.argsAlloc(arena_state.allocator());
    const usage = "usage: pingpong_native server PATH | client PATH N [--depth D] [--wait-go]\n";
    if (args.len >= 3 and std.mem.eql(u8, args[1], "server")) return serve(args[2]);
    if (args.len >= 4 and std.mem.eql(u8, args[1], "client")) {
        const requests_total = try std.fmt.parseInt(u64, args[3], 10);
        var depth: usize = 1;
        var wait_go = false;
        var index: usize = 4;
        while (index < args.len) : (index += 1) {
            if (std.mem.eql(u8, args[index], "--wait-go")) {
                wait_go = true;
            } else if (std.mem.eql(u8, args[index], "--depth") and index + 1 < args.len) {
                index += 1;
                depth = try std.fmt.parseInt(usize, args[index], 10);
            } else {
                std.debug.print(usage, .{});
                std.process.exit(2);
            }
        }
        return client(args[2], requests_total, depth, wait_go);
    }
    std.debug.print(usage, .{});
    std.process.exit(2);
}

//! Fuzzing of the frame and fd layer. An input is a script of what a hostile peer does on its end
//! of a socket pair (raw bytes, frame headers claiming any length, zero to three fds per message,
//! hang-up) interleaved with the store's reads and fd takes on the other end.
//! Invariants: every call returns a status; no frame over the limit or the caller's buffer is
//! handed out; a failed stream stays failed with the same status; no fd leaks.
//! `zig build fuzz --fuzz` runs it coverage-guided; `zig build test` runs the seed corpus and a
//! deterministic batch of random scripts (PLASMA_FUZZ_SEED replays one seed).
const std = @import("std");
const linux = std.os.linux;
const connection_mod = @import("connection.zig");
const Connection = connection_mod.Connection;
const Status = @import("status.zig").Status;

const payload_limit: u64 = 256;
const ray_cookie: u64 = 0x5241590000000000;
const script_steps_max = 64;
const drain_steps_max = 256;
const scm_rights: i32 = 1;
const CmsgHeader = extern struct { len: usize, level: i32, type: i32 };

/// Reads script bytes; past the end every read is 0, so any input is a complete script.
const Script = struct {
    input: []const u8,
    at: usize = 0,

    fn byte(self: *Script) u8 {
        if (self.at >= self.input.len) return 0;
        defer self.at += 1;
        return self.input[self.at];
    }

    fn bytes(self: *Script, count: usize) []const u8 {
        const available = @min(count, self.input.len -| self.at);
        defer self.at += available;
        return self.input[self.at..][0..available];
    }

    fn done(self: *const Script) bool {
        return self.at >= self.input.len;
    }
};

/// The store's side of the conversation and what it has seen so far.
const Victim = struct {
    connection: *Connection,
    sticky_failure: ?Status = null,

    fn read(self: *Victim, capacity: u32) !Status {
        var header: connection_mod.HeaderOut = undefined;
        var payload: [payload_limit]u8 = undefined;
        const status = self.connection.readFrame(&header, &payload, @min(capacity, payload.len), 0);
        switch (status) {
            .ok => {
                const length = @as(u64, header[5]) << 32 | header[4];
                try std.testing.expect(length <= payload_limit and length <= capacity);
            },
            .would_block, .buffer_too_small => {},
            else => try self.expectSticky(status),
        }
        return status;
    }

    fn takeFd(self: *Victim) !Status {
        var fd: i32 = -1;
        const status = self.connection.takeFd(0, &fd);
        switch (status) {
            .ok => {
                try std.testing.expect(fd >= 0);
                _ = linux.close(fd);
            },
            .would_block => {},
            else => try self.expectSticky(status),
        }
        return status;
    }

    /// A stream that failed once reports that same failure on every later read.
    fn expectSticky(self: *Victim, status: Status) !void {
        if (self.sticky_failure) |first| return std.testing.expectEqual(first, status);
        self.sticky_failure = status;
    }
};

/// The hostile peer's end: a raw socket it writes anything on.
const Attacker = struct {
    fd: i32,
    spare: i32,
    closed: bool = false,

    fn writeRaw(self: *Attacker, bytes: []const u8) void {
        if (self.closed or bytes.len == 0) return;
        _ = linux.sendto(self.fd, bytes.ptr, bytes.len, linux.MSG.DONTWAIT | linux.MSG.NOSIGNAL, null, 0);
    }

    fn writeHeader(self: *Attacker, script: *Script) void {
        var header: [24]u8 = undefined;
        const cookie: u64 = switch (script.byte() % 3) {
            0 => ray_cookie,
            1 => 0,
            else => std.mem.readInt(u64, &padded(script.bytes(8)), .little),
        };
        const length: i64 = switch (script.byte() % 6) {
            0 => 0,
            1 => script.byte(),
            2 => @intCast(payload_limit),
            3 => @intCast(payload_limit + 1),
            4 => -1,
            else => std.math.maxInt(i64),
        };
        std.mem.writeInt(u64, header[0..8], cookie, .little);
        std.mem.writeInt(i64, header[8..16], script.byte(), .little);
        std.mem.writeInt(i64, header[16..24], length, .little);
        self.writeRaw(&header);
        self.writeRaw(script.bytes(@min(@max(length, 0), 64)));
    }

    /// One message carrying `count` copies of a spare fd (0: the dummy byte alone).
    fn sendFds(self: *Attacker, count: usize) void {
        if (self.closed) return;
        var control: [@sizeOf(CmsgHeader) + 16]u8 align(@alignOf(CmsgHeader)) = undefined;
        const header: *CmsgHeader = @ptrCast(&control);
        header.* = .{ .len = @sizeOf(CmsgHeader) + 4 * count, .level = linux.SOL.SOCKET, .type = scm_rights };
        for (0..count) |index| std.mem.writeInt(i32, control[@sizeOf(CmsgHeader) + 4 * index ..][0..4], self.spare, .little);
        const dummy = [1]u8{0};
        const iov = [1]std.posix.iovec_const{.{ .base = &dummy, .len = 1 }};
        const message = linux.msghdr_const{
            .name = null,
            .namelen = 0,
            .iov = &iov,
            .iovlen = 1,
            .control = if (count == 0) null else &control,
            .controllen = if (count == 0) 0 else @intCast(std.mem.alignForward(usize, header.len, @alignOf(CmsgHeader))),
            .flags = 0,
        };
        _ = linux.sendmsg(self.fd, &message, linux.MSG.DONTWAIT | linux.MSG.NOSIGNAL);
    }

    fn hangUp(self: *Attacker) void {
        if (self.closed) return;
        _ = linux.close(self.fd);
        self.closed = true;
    }
};

fn padded(bytes: []const u8) [8]u8 {
    var out = [_]u8{0} ** 8;
    @memcpy(out[0..bytes.len], bytes);
    return out;
}

fn openFdCount() !usize {
    var directory = try std.fs.openDirAbsolute("/proc/self/fd", .{ .iterate = true });
    defer directory.close();
    var count: usize = 0;
    var entries = directory.iterate();
    while (try entries.next()) |_| count += 1;
    return count;
}

/// Runs one script; the checks are the invariants in the file comment.
fn runScript(_: void, input: []const u8) anyerror!void {
    const fds_before = try openFdCount();
    var pair: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC, 0, &pair));
    var pipe: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 0), linux.pipe2(&pipe, .{ .CLOEXEC = true }));
    var connection: *Connection = undefined;
    try std.testing.expectEqual(Status.ok, Connection.create(pair[1], payload_limit, payload_limit, &connection));
    var victim = Victim{ .connection = connection };
    var attacker = Attacker{ .fd = pair[0], .spare = pipe[1] };
    {
        defer for (pipe) |fd| {
            _ = linux.close(fd);
        };
        defer connection.destroy();
        defer attacker.hangUp();
        var script = Script{ .input = input };
        var steps: usize = 0;
        while (!script.done() and steps < script_steps_max) : (steps += 1) {
            switch (script.byte() % 6) {
                0 => attacker.writeRaw(script.bytes(script.byte() % 64)),
                1 => attacker.writeHeader(&script),
                2 => attacker.sendFds(script.byte() % 4),
                3 => _ = try victim.read(if (script.byte() % 2 == 0) 8 else payload_limit),
                4 => _ = try victim.takeFd(),
                else => attacker.hangUp(),
            }
        }
        // Drain what is left as the store would: read frames, take an fd when a read stalls.
        var drained: usize = 0;
        while (drained < drain_steps_max) : (drained += 1) {
            const status = try victim.read(payload_limit);
            if (status == .ok or status == .buffer_too_small) continue;
            if (status != .would_block or try victim.takeFd() != .ok) break;
        }
    }
    try std.testing.expectEqual(fds_before, try openFdCount());
}

const seed_corpus = [_][]const u8{
    // A frame header, then its payload, then a read.
    &.{ 1, 0, 2, 7, 3, 1 },
    // A header claiming more than the limit, then reads.
    &.{ 1, 0, 3, 5, 3, 1, 3, 1 },
    // Two fds in one message, then takes.
    &.{ 2, 2, 4, 4 },
    // A dummy byte without an fd, a hang-up mid-frame.
    &.{ 2, 0, 4, 1, 0, 1, 5, 3, 1 },
};

test "fuzz: a hostile peer's bytes and fds never break the frame and fd layer's invariants" {
    try std.testing.fuzz({}, runScript, .{ .corpus = &seed_corpus });
}

test "fuzz: a deterministic batch of random peer scripts keeps the invariants" {
    const default_seed: u64 = 20261129;
    const seed = if (std.posix.getenv("PLASMA_FUZZ_SEED")) |text| try std.fmt.parseInt(u64, text, 10) else default_seed;
    var prng = std.Random.DefaultPrng.init(seed);
    var input: [160]u8 = undefined;
    for (0..1500) |iteration| {
        prng.random().bytes(&input);
        const length = prng.random().uintAtMost(usize, input.len);
        errdefer std.debug.print("fuzz script failed: seed {d}, iteration {d} (replay: PLASMA_FUZZ_SEED={d})\n", .{ seed, iteration, seed });
        try runScript({}, input[0..length]);
    }
}

//! A streaming XXH3-64 whose pieces are hashed on a helper thread, so the caller can move the
//! next piece (a file read or write of spilled bytes) while the last one is hashed. Spill I/O
//! reads or writes at 2.5-4 GB/s and XXH3 runs at 8-24 GB/s: hashed in line it cost a quarter of
//! the I/O's speed; hashed beside it, its time hides behind the I/O's.
//!
//! One piece is in flight at a time; the helper sleeps on a condition variable (it never spins).
//! Invariant: the caller must keep a submitted piece's bytes alive and unchanged until its next
//! call on the pipeline (every call first waits for the piece in flight).
const std = @import("std");

pub const HashPipeline = struct {
    state: std.hash.XxHash3 = std.hash.XxHash3.init(0),
    mutex: std.Thread.Mutex = .{},
    /// Signalled when a piece is handed over, or at shutdown.
    piece_ready: std.Thread.Condition = .{},
    /// Signalled when the helper has folded the piece into the state.
    piece_done: std.Thread.Condition = .{},
    piece: ?[]const u8 = null,
    quit: bool = false,
    thread: ?std.Thread = null,

    /// Starts the helper thread (on fresh or stopped memory); `self` must not move afterwards (the
    /// helper points at it).
    pub fn start(self: *HashPipeline) std.Thread.SpawnError!void {
        self.* = .{};
        self.thread = try std.Thread.spawn(.{ .stack_size = 64 * 1024 }, helperMain, .{self});
    }

    /// Waits for the piece in flight, stops the helper and joins it.
    pub fn stop(self: *HashPipeline) void {
        const thread = self.thread orelse return;
        self.mutex.lock();
        self.waitIdleLocked();
        self.quit = true;
        self.piece_ready.signal();
        self.mutex.unlock();
        thread.join();
        self.thread = null;
    }

    /// Starts a new hash with `seed` (chain the parts of a record through it).
    pub fn reset(self: *HashPipeline, seed: u64) void {
        self.waitIdle();
        self.state = std.hash.XxHash3.init(seed);
    }

    /// Hands `bytes` to the helper and returns at once (after the previous piece is done).
    pub fn submit(self: *HashPipeline, bytes: []const u8) void {
        std.debug.assert(self.thread != null);
        if (bytes.len == 0) return;
        self.mutex.lock();
        defer self.mutex.unlock();
        self.waitIdleLocked();
        self.piece = bytes;
        self.piece_ready.signal();
    }

    /// The hash of everything submitted since the last reset, once the last piece is done.
    pub fn digest(self: *HashPipeline) u64 {
        self.waitIdle();
        return self.state.final();
    }

    /// Blocks until no piece is in flight.
    pub fn waitIdle(self: *HashPipeline) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        self.waitIdleLocked();
    }

    fn waitIdleLocked(self: *HashPipeline) void {
        while (self.piece != null) self.piece_done.wait(&self.mutex);
    }

    fn helperMain(self: *HashPipeline) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        while (true) {
            while (self.piece == null and !self.quit) self.piece_ready.wait(&self.mutex);
            const bytes = self.piece orelse return; // quit, nothing in flight
            // The state is the helper's alone while a piece is in flight: every other access waits.
            self.mutex.unlock();
            self.state.update(bytes);
            self.mutex.lock();
            self.piece = null;
            self.piece_done.signal();
        }
    }
};

test "a pipelined hash equals the one-shot hash for any split, seeds chained" {
    var data: [300_000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(7);
    prng.random().bytes(&data);
    var pipeline: HashPipeline = .{};
    try pipeline.start();
    defer pipeline.stop();
    for ([_]usize{ 1, 63, 64, 4096, 65_536, 262_144, 300_000 }) |piece_bytes| {
        pipeline.reset(11);
        var offset: usize = 0;
        while (offset < data.len) : (offset += piece_bytes) {
            pipeline.submit(data[offset..@min(offset + piece_bytes, data.len)]);
        }
        try std.testing.expectEqual(std.hash.XxHash3.hash(11, &data), pipeline.digest());
    }
    pipeline.reset(std.hash.XxHash3.hash(0, "head"));
    pipeline.submit("data");
    try std.testing.expectEqual(std.hash.XxHash3.hash(std.hash.XxHash3.hash(0, "head"), "data"), pipeline.digest());
    pipeline.reset(5);
    pipeline.submit("");
    try std.testing.expectEqual(std.hash.XxHash3.hash(5, ""), pipeline.digest());
}

test "stopping waits for the piece in flight and is safe twice" {
    var data: [1 << 20]u8 = undefined;
    @memset(&data, 3);
    var pipeline: HashPipeline = .{};
    try pipeline.start();
    pipeline.submit(&data);
    pipeline.stop();
    try std.testing.expect(pipeline.piece == null);
    try std.testing.expectEqual(std.hash.XxHash3.hash(0, &data), pipeline.state.final());
    pipeline.stop();
}

//! Checksums of whole spill records computed on a helper thread, queued: the spill I/O thread
//! writes (or reads) one object while the helper hashes another, and waits once, at the end of a
//! batch. One job per object, so a sleeping helper is woken at most once per object and the I/O
//! thread never waits for that wake-up (on a VM whose idle vCPUs halt, a wake-up costs 0.05-6 ms;
//! handing over every 512 KiB piece made the spill I/O slower than hashing in line).
//!
//! A record's checksum chains its parts through the seed, as plasma_hash64 does:
//! seed 0 -> hash(header) -> hash(owner) -> hash(metadata) -> hash(data); empty parts count.
//! Invariants: jobs finish in submission order; a job's parts and result stay valid until `wait`
//! returns (the caller's promise); the helper sleeps on a condition variable (it never spins).
const std = @import("std");

/// Jobs queued at most; a submit beyond waits for the helper (backpressure, bounded memory).
pub const jobs_max = 64;
/// Parts of one record: header, owner, metadata, data.
pub const parts_max = 4;

const Job = struct {
    parts: [parts_max][]const u8,
    parts_count: usize,
    result: *u64,
};

pub const HashQueue = struct {
    mutex: std.Thread.Mutex = .{},
    /// Signalled when a job is queued, or at shutdown.
    job_queued: std.Thread.Condition = .{},
    /// Signalled when the helper finishes a job.
    job_done: std.Thread.Condition = .{},
    ring: [jobs_max]Job = undefined,
    /// Jobs taken (head) and queued (tail) so far; tail - head are waiting, and one more may be
    /// in the helper's hands while `hashing`.
    head: usize = 0,
    tail: usize = 0,
    hashing: bool = false,
    quit: bool = false,
    thread: ?std.Thread = null,

    /// Starts the helper thread (on fresh or stopped memory); `self` must not move afterwards.
    pub fn start(self: *HashQueue) std.Thread.SpawnError!void {
        self.* = .{};
        self.thread = try std.Thread.spawn(.{ .stack_size = 64 * 1024 }, helperMain, .{self});
    }

    /// Finishes the queued jobs, stops the helper and joins it. Safe twice.
    pub fn stop(self: *HashQueue) void {
        const thread = self.thread orelse return;
        self.wait();
        self.mutex.lock();
        self.quit = true;
        self.job_queued.signal();
        self.mutex.unlock();
        thread.join();
        self.thread = null;
    }

    /// Queues the checksum of one record into `result`; returns at once unless the queue is full.
    pub fn submit(self: *HashQueue, parts: []const []const u8, result: *u64) void {
        std.debug.assert(parts.len <= parts_max);
        std.debug.assert(self.thread != null);
        var job = Job{ .parts = undefined, .parts_count = parts.len, .result = result };
        for (parts, 0..) |part, index| job.parts[index] = part;
        self.mutex.lock();
        defer self.mutex.unlock();
        while (self.tail - self.head == jobs_max) self.job_done.wait(&self.mutex);
        self.ring[self.tail % jobs_max] = job;
        self.tail += 1;
        self.job_queued.signal();
    }

    /// Blocks until every submitted job has written its result.
    pub fn wait(self: *HashQueue) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        while (self.head != self.tail or self.hashing) self.job_done.wait(&self.mutex);
    }

    fn helperMain(self: *HashQueue) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        while (true) {
            while (self.head == self.tail and !self.quit) self.job_queued.wait(&self.mutex);
            if (self.head == self.tail) return; // quit with nothing queued
            const job = self.ring[self.head % jobs_max];
            self.head += 1;
            self.hashing = true;
            self.mutex.unlock();
            job.result.* = recordChecksum(job.parts[0..job.parts_count]);
            self.mutex.lock();
            self.hashing = false;
            self.job_done.broadcast(); // a full submit and the batch's wait may both be waiting
        }
    }
};

/// The chained checksum of a record's parts (the same as hashing them one by one in line).
pub fn recordChecksum(parts: []const []const u8) u64 {
    var seed: u64 = 0;
    for (parts) |part| seed = std.hash.XxHash3.hash(seed, part);
    return seed;
}

test "queued checksums equal the chained in-line hash, in any number, past the queue's size" {
    var data: [200_000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(3);
    prng.random().bytes(&data);
    var queue: HashQueue = .{};
    try queue.start();
    defer queue.stop();
    var results: [jobs_max * 3]u64 = undefined;
    for (&results, 0..) |*result, index| {
        const size = (index * 997) % data.len;
        queue.submit(&.{ "header", "", data[0 .. index % 100], data[0..size] }, result);
    }
    queue.wait();
    for (results, 0..) |result, index| {
        const size = (index * 997) % data.len;
        var seed = std.hash.XxHash3.hash(0, "header");
        seed = std.hash.XxHash3.hash(seed, "");
        seed = std.hash.XxHash3.hash(seed, data[0 .. index % 100]);
        try std.testing.expectEqual(std.hash.XxHash3.hash(seed, data[0..size]), result);
    }
    queue.wait(); // nothing queued: returns at once
}

test "stopping finishes the queued jobs and is safe twice" {
    var data: [1 << 20]u8 = undefined;
    @memset(&data, 9);
    var queue: HashQueue = .{};
    try queue.start();
    var results: [4]u64 = .{ 0, 0, 0, 0 };
    for (&results) |*result| queue.submit(&.{&data}, result);
    queue.stop();
    for (results) |result| try std.testing.expectEqual(std.hash.XxHash3.hash(0, &data), result);
    queue.stop();
}

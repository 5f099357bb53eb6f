//! Checksums of whole spill records computed on a helper thread, queued: the spill I/O thread
//! writes (or reads) one object while the helper hashes another, and waits once, at the end of a
//! batch. One job per object, so a sleeping helper is woken at most once per object and the I/O
//! thread never waits for that wake-up (on a VM whose idle vCPUs halt, a wake-up costs 0.05-6 ms;
//! handing over every 512 KiB piece made the spill I/O slower than hashing in line).
//!
//! A record's checksum chains its parts through the seed, as plasma_hash64 does:
//! seed 0 -> hash(header) -> hash(owner) -> hash(metadata) -> hash(data); empty parts count.
//! Invariants: jobs finish in submission order; the queue owns everything the helper writes (the
//! results) and copies the small parts it is given (header, owner), so a caller that dies with jobs
//! queued (a terminated Worker's heap) leaves the helper nothing freed to touch; the large parts
//! (metadata, data) must stay mapped until `wait` returns. The helper sleeps on a condition
//! variable (it never spins).
const std = @import("std");

/// Jobs queued at most; a submit beyond waits for the helper (backpressure, bounded memory).
pub const jobs_max = 64;
/// Results one batch holds; a submit beyond is refused (the caller hashes that record in line).
pub const results_max = 1024;
/// Header and owner bytes copied into a job; larger ones are refused (hashed in line).
pub const small_parts_bytes_max = 256;

const Job = struct {
    small: [small_parts_bytes_max]u8,
    header_len: usize,
    owner_len: usize,
    metadata: []const u8,
    data: []const u8,
    index: usize,

    fn checksum(job: *const Job) u64 {
        const header = job.small[0..job.header_len];
        const owner = job.small[job.header_len..][0..job.owner_len];
        return recordChecksum(&.{ header, owner, job.metadata, job.data });
    }
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
    /// This batch's checksums, by submission index; `submitted` were handed out.
    results: [results_max]u64 = undefined,
    submitted: usize = 0,
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
        self.mutex.lock();
        self.waitIdleLocked();
        self.quit = true;
        self.job_queued.signal();
        self.mutex.unlock();
        thread.join();
        self.thread = null;
    }

    /// Queues one record's checksum; returns its index in this batch, or null when the batch is
    /// full or header and owner do not fit a job (hash that record in line instead). Returns at
    /// once unless jobs_max jobs are queued.
    pub fn submit(self: *HashQueue, header: []const u8, owner: []const u8, metadata: []const u8, data: []const u8) ?usize {
        std.debug.assert(self.thread != null);
        if (header.len + owner.len > small_parts_bytes_max) return null;
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.submitted == results_max) return null;
        while (self.tail - self.head == jobs_max) self.job_done.wait(&self.mutex);
        const job = &self.ring[self.tail % jobs_max];
        @memcpy(job.small[0..header.len], header);
        @memcpy(job.small[header.len..][0..owner.len], owner);
        job.header_len = header.len;
        job.owner_len = owner.len;
        job.metadata = metadata;
        job.data = data;
        job.index = self.submitted;
        self.submitted += 1;
        self.tail += 1;
        self.job_queued.signal();
        return job.index;
    }

    /// Waits until every queued job is done, copies this batch's checksums into `out` (as many as
    /// were submitted, at most out.len) and starts a new batch; returns how many it copied.
    pub fn wait(self: *HashQueue, out: []u64) usize {
        self.mutex.lock();
        defer self.mutex.unlock();
        self.waitIdleLocked();
        const count = @min(self.submitted, out.len);
        @memcpy(out[0..count], self.results[0..count]);
        self.submitted = 0;
        return count;
    }

    fn waitIdleLocked(self: *HashQueue) void {
        while (self.head != self.tail or self.hashing) self.job_done.wait(&self.mutex);
    }

    fn helperMain(self: *HashQueue) void {
        self.mutex.lock();
        defer self.mutex.unlock();
        while (true) {
            while (self.head == self.tail and !self.quit) self.job_queued.wait(&self.mutex);
            if (self.head == self.tail) return; // quit with nothing queued
            // The slot stays untouched until head moves past it, which only this thread does.
            const job = &self.ring[self.head % jobs_max];
            self.hashing = true;
            self.mutex.unlock();
            const checksum = job.checksum();
            self.mutex.lock();
            self.results[job.index] = checksum;
            self.head += 1;
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

fn expectedChecksum(header: []const u8, owner: []const u8, metadata: []const u8, data: []const u8) u64 {
    var seed = std.hash.XxHash3.hash(0, header);
    seed = std.hash.XxHash3.hash(seed, owner);
    seed = std.hash.XxHash3.hash(seed, metadata);
    return std.hash.XxHash3.hash(seed, data);
}

test "queued checksums equal the chained in-line hash, past the queue's size, with the small parts copied" {
    var data: [200_000]u8 = undefined;
    var prng = std.Random.DefaultPrng.init(3);
    prng.random().bytes(&data);
    const queue = try std.testing.allocator.create(HashQueue);
    defer std.testing.allocator.destroy(queue);
    try queue.start();
    defer queue.stop();
    const count = jobs_max * 3;
    for (0..count) |index| {
        var header: [16]u8 = undefined;
        @memset(&header, @truncate(index));
        const submitted = queue.submit(&header, "owner", data[0 .. index % 100], data[0 .. (index * 997) % data.len]);
        try std.testing.expectEqual(@as(?usize, index), submitted);
        @memset(&header, 0xee); // the queue copied it: changing it now changes nothing
    }
    var out: [count]u64 = undefined;
    try std.testing.expectEqual(@as(usize, count), queue.wait(&out));
    for (out, 0..) |result, index| {
        var header: [16]u8 = undefined;
        @memset(&header, @truncate(index));
        try std.testing.expectEqual(expectedChecksum(&header, "owner", data[0 .. index % 100], data[0 .. (index * 997) % data.len]), result);
    }
    try std.testing.expectEqual(@as(usize, 0), queue.wait(&out)); // a new batch starts empty
}

test "a batch past results_max, or small parts past their room, is refused and not queued" {
    const queue = try std.testing.allocator.create(HashQueue);
    defer std.testing.allocator.destroy(queue);
    try queue.start();
    defer queue.stop();
    const big = [_]u8{1} ** (small_parts_bytes_max + 1);
    try std.testing.expectEqual(@as(?usize, null), queue.submit(&big, "", "", ""));
    for (0..results_max) |index| try std.testing.expectEqual(@as(?usize, index), queue.submit("h", "", "", "d"));
    try std.testing.expectEqual(@as(?usize, null), queue.submit("h", "", "", "d"));
    var out: [results_max]u64 = undefined;
    try std.testing.expectEqual(@as(usize, results_max), queue.wait(&out));
    try std.testing.expectEqual(expectedChecksum("h", "", "", "d"), out[results_max - 1]);
    try std.testing.expectEqual(@as(?usize, 0), queue.submit("h", "", "", "d"));
}

test "stopping finishes the queued jobs and is safe twice" {
    var data: [1 << 20]u8 = undefined;
    @memset(&data, 9);
    const queue = try std.testing.allocator.create(HashQueue);
    defer std.testing.allocator.destroy(queue);
    try queue.start();
    for (0..4) |_| _ = queue.submit("", "", "", &data);
    queue.stop();
    try std.testing.expectEqual(queue.tail, queue.head);
    try std.testing.expectEqual(std.hash.XxHash3.hash(std.hash.XxHash3.hash(std.hash.XxHash3.hash(std.hash.XxHash3.hash(0, ""), ""), ""), &data), queue.results[3]);
    queue.stop();
}

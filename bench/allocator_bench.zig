//! Throughput benchmark for the out-of-band TLSF offset allocator (ffi/zig/allocator.zig).
//! Build with the allocator exposed as module "allocator", in ReleaseFast.
const std = @import("std");
const allocator_mod = @import("allocator");

const CAPACITY_BYTES: u64 = 256 << 20;
const MAX_BLOCKS: u32 = 1 << 16;
const LIVE_BLOCKS: usize = 1000;
const MAX_RANDOM_BYTES: u64 = 256 << 10;
const SAME_SIZE_BYTES: u64 = 4096;
const PAIRS: u64 = 5_000_000;
/// Pre-generated random choices, so the timed loop measures the allocator and not the PRNG.
const SCRIPT_LEN: usize = 1 << 16;

const Step = struct { victim: u32, size_bytes: u64 };

pub fn main() !void {
    var gpa_state = std.heap.GeneralPurposeAllocator(.{}){};
    defer _ = gpa_state.deinit();
    const gpa = gpa_state.allocator();

    const churn_rate = try benchChurn(gpa);
    const same_rate = try benchSameSize(gpa);
    const out = std.io.getStdOut().writer();
    try out.print("allocator alloc+free pairs/s (churn, {d} live): {d:.1}M\n", .{ LIVE_BLOCKS, churn_rate / 1e6 });
    try out.print("allocator alloc+free pairs/s (same size {d} B): {d:.1}M\n", .{ SAME_SIZE_BYTES, same_rate / 1e6 });
}

/// Steady state: ~LIVE_BLOCKS random-size blocks live; each pair frees a random one and allocates a replacement.
fn benchChurn(gpa: std.mem.Allocator) !f64 {
    var a = try allocator_mod.Allocator.init(gpa, CAPACITY_BYTES, MAX_BLOCKS);
    defer a.deinit();
    var prng = std.Random.DefaultPrng.init(12345);
    const rand = prng.random();

    const script = try gpa.alloc(Step, SCRIPT_LEN);
    defer gpa.free(script);
    for (script) |*s| s.* = .{
        .victim = rand.uintLessThan(u32, LIVE_BLOCKS),
        .size_bytes = rand.intRangeAtMost(u64, 1, MAX_RANDOM_BYTES),
    };
    var live: [LIVE_BLOCKS]u64 = undefined;
    for (&live, 0..) |*o, i| o.* = try a.alloc(script[i].size_bytes);

    var timer = try std.time.Timer.start();
    var i: u64 = 0;
    while (i < PAIRS) : (i += 1) {
        const step = script[i % SCRIPT_LEN];
        try a.free(live[step.victim]);
        live[step.victim] = try a.alloc(step.size_bytes);
    }
    const elapsed_ns = timer.read();
    std.mem.doNotOptimizeAway(&live);
    for (live) |o| try a.free(o);
    return @as(f64, @floatFromInt(PAIRS)) * 1e9 / @as(f64, @floatFromInt(elapsed_ns));
}

/// Best case: the same size is allocated and immediately freed (split + full re-coalesce each time).
fn benchSameSize(gpa: std.mem.Allocator) !f64 {
    var a = try allocator_mod.Allocator.init(gpa, CAPACITY_BYTES, MAX_BLOCKS);
    defer a.deinit();
    var timer = try std.time.Timer.start();
    var i: u64 = 0;
    while (i < PAIRS) : (i += 1) {
        const o = try a.alloc(SAME_SIZE_BYTES);
        std.mem.doNotOptimizeAway(o);
        try a.free(o);
    }
    const elapsed_ns = timer.read();
    return @as(f64, @floatFromInt(PAIRS)) * 1e9 / @as(f64, @floatFromInt(elapsed_ns));
}

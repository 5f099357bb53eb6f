//! The process's C heap (glibc malloc, which V8's array buffers, Deno and this library use).
//! Freed blocks in the middle of an arena stay resident until `malloc_trim` hands their pages
//! back: after a burst of requests a store kept ~9 MB of such pages (bench/README.md, "Giving
//! memory back when quiet").
const std = @import("std");

extern "c" fn malloc_trim(pad: usize) c_int;

/// Returns the free pages of every thread's arena to the kernel; true when any were released.
pub fn trim() bool {
    return malloc_trim(0) == 1;
}

/// Resident bytes of this process, from /proc/self/statm.
fn residentBytes() !u64 {
    var buffer: [128]u8 = undefined;
    const file = try std.fs.openFileAbsolute("/proc/self/statm", .{});
    defer file.close();
    const length = try file.readAll(&buffer);
    var fields = std.mem.tokenizeScalar(u8, buffer[0..length], ' ');
    _ = fields.next();
    const pages = try std.fmt.parseInt(u64, fields.next() orelse return error.BadStatm, 10);
    return pages * std.heap.pageSize();
}

test "trim returns the pages of blocks freed in the middle of the heap" {
    const block_bytes = 64 * 1024; // under glibc's mmap threshold: the blocks come from an arena
    const block_count = 320; // 20 MiB
    var blocks: [block_count][*]u8 = undefined;
    for (&blocks) |*block| {
        block.* = @ptrCast(std.c.malloc(block_bytes) orelse return error.OutOfMemory);
        @memset(block.*[0..block_bytes], 0xa5); // resident
    }
    // The last block stays, so the freed ones cannot simply shrink the heap from its top.
    defer std.c.free(blocks[block_count - 1]);
    for (blocks[0 .. block_count - 1]) |block| std.c.free(block);
    const before = try residentBytes();
    try std.testing.expect(trim());
    const after = try residentBytes();
    // At least half of the ~20 MiB freed must have left the process.
    try std.testing.expect(before > after and before - after >= block_count * block_bytes / 2);
}

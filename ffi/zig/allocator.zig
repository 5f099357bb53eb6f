//! Offset allocator (dlmalloc's role) for the store's single pre-reserved shared-memory chunk.
//! Invariant: blocks tile [0, capacity) exactly and all metadata lives out-of-band, so clients writing the region cannot corrupt it.
const std = @import("std");

/// Every block offset and size is a multiple of this (one cache line).
pub const ALIGNMENT: u64 = 64;
const ALIGN_LOG2: u6 = std.math.log2_int(u64, ALIGNMENT);
/// Second-level subdivisions per power of two; good-fit rounding wastes < 1/2^SL_LOG2 of a request.
pub const SL_LOG2: u6 = 4;
const SL_COUNT: u32 = 1 << SL_LOG2;
/// Enough first-level classes for any block size expressible in u64 bytes.
const FL_COUNT: u32 = 64 - @as(u32, ALIGN_LOG2) - SL_LOG2 + 1;
/// Nodes visited in the exact-size class when good-fit search fails (keeps alloc bounded-time).
const FALLBACK_SCAN_LIMIT: u32 = 32;
/// Node indices are u32 and NIL is reserved as the "no node" marker.
const NIL: u32 = std.math.maxInt(u32);
/// Nodes allocated at init; the pool doubles from here on demand.
const INITIAL_BLOCKS: u32 = 1024;
pub const MAX_BLOCKS: u32 = NIL - 1;

const SlBitmap = std.meta.Int(.unsigned, SL_COUNT);

pub const Error = error{ OutOfMemory, OutOfBlocks, InvalidSize, InvalidOffset };

/// One block of the region; links are node indices (NIL = none).
const Node = struct {
    offset_bytes: u64,
    size_bytes: u64,
    phys_prev: u32,
    phys_next: u32,
    /// Free-list links; for unused pool nodes `free_next` chains the pool's free list.
    free_prev: u32,
    free_next: u32,
    is_free: bool,
};

const SizeClass = struct { fl: u32, sl: u32 };

/// Class of a size in ALIGNMENT units: exact below SL_COUNT units, else log2 + SL_LOG2 bits of mantissa.
fn classOfUnits(units: u64) SizeClass {
    std.debug.assert(units > 0);
    if (units < SL_COUNT) return .{ .fl = 0, .sl = @intCast(units) };
    const log2 = std.math.log2_int(u64, units);
    const shift: u6 = log2 - SL_LOG2;
    return .{ .fl = @as(u32, shift) + 1, .sl = @intCast((units >> shift) - SL_COUNT) };
}

/// Rounds up so that every block in the resulting class is at least `units` large (TLSF good fit).
fn roundUpToClassUnits(units: u64) u64 {
    if (units < SL_COUNT) return units;
    const shift: u6 = std.math.log2_int(u64, units) - SL_LOG2;
    return units + ((@as(u64, 1) << shift) - 1);
}

/// Smallest size of a block in class `c`, in bytes.
fn classMinBytes(c: SizeClass) u64 {
    if (c.fl == 0) return @as(u64, c.sl) << ALIGN_LOG2;
    const shift: u6 = @intCast(c.fl - 1);
    return (@as(u64, SL_COUNT + c.sl) << shift) << ALIGN_LOG2;
}

/// Free-block size that guarantees alloc(size_bytes) succeeds (caller ensures 0 < size_bytes <= capacity).
fn goodFitBytes(size_bytes: u64) u64 {
    const units = alignUp(size_bytes) >> ALIGN_LOG2;
    return classMinBytes(classOfUnits(roundUpToClassUnits(units)));
}

fn alignUp(size_bytes: u64) u64 {
    return (size_bytes + (ALIGNMENT - 1)) & ~(ALIGNMENT - 1);
}

fn ensure(ok: bool, comptime what: []const u8) void {
    if (!ok) @panic("allocator invariant violated: " ++ what);
}

/// Open-addressing offset -> node table for allocated blocks. Backward-shift deletion leaves no
/// tombstones, so probe lengths stay short under endless churn. Keys live in the nodes themselves.
const OffsetIndex = struct {
    slots: []u32,
    hash_shift: u6,

    fn init(gpa: std.mem.Allocator, max_blocks: u32) std.mem.Allocator.Error!OffsetIndex {
        // Load factor stays <= 1/2 because live blocks never exceed the node pool.
        const len = std.math.ceilPowerOfTwo(usize, @as(usize, max_blocks) * 2) catch return error.OutOfMemory;
        const slots = try gpa.alloc(u32, len);
        @memset(slots, NIL);
        const bits: u6 = @intCast(std.math.log2_int(usize, len));
        return .{ .slots = slots, .hash_shift = @intCast(@as(u7, 64) - bits) };
    }

    fn home(self: *const OffsetIndex, offset_bytes: u64) usize {
        // Fibonacci hashing spreads the aligned offsets over the high bits.
        return @intCast(((offset_bytes >> ALIGN_LOG2) *% 0x9E3779B97F4A7C15) >> self.hash_shift);
    }

    fn insert(self: *OffsetIndex, nodes: []const Node, node_index: u32) void {
        const mask = self.slots.len - 1;
        var i = self.home(nodes[node_index].offset_bytes);
        while (self.slots[i] != NIL) i = (i + 1) & mask;
        self.slots[i] = node_index;
    }

    fn findSlot(self: *const OffsetIndex, nodes: []const Node, offset_bytes: u64) ?usize {
        const mask = self.slots.len - 1;
        var i = self.home(offset_bytes);
        while (self.slots[i] != NIL) : (i = (i + 1) & mask) {
            if (nodes[self.slots[i]].offset_bytes == offset_bytes) return i;
        }
        return null;
    }

    fn removeSlot(self: *OffsetIndex, nodes: []const Node, slot: usize) void {
        const mask = self.slots.len - 1;
        var hole = slot;
        var j = slot;
        while (true) {
            j = (j + 1) & mask;
            if (self.slots[j] == NIL) break;
            const k = self.home(nodes[self.slots[j]].offset_bytes);
            // Entry at j may fill the hole only if its home is not cyclically within (hole, j].
            const stays = if (hole <= j) (hole < k and k <= j) else (hole < k or k <= j);
            if (stays) continue;
            self.slots[hole] = self.slots[j];
            hole = j;
        }
        self.slots[hole] = NIL;
    }
};

pub const Allocator = struct {
    gpa: std.mem.Allocator,
    capacity_bytes: u64,
    allocated_bytes: u64,
    live_blocks: u32,
    nodes: []Node,
    /// The pool grows (doubling) up to this many nodes, so a big store costs no metadata until used.
    max_blocks: u32,
    unused_head: u32,
    index: OffsetIndex,
    fl_bitmap: u64,
    sl_bitmaps: [FL_COUNT]SlBitmap,
    heads: [FL_COUNT][SL_COUNT]u32,

    pub fn init(gpa: std.mem.Allocator, capacity_bytes: u64, max_blocks: u32) (Error || std.mem.Allocator.Error)!Allocator {
        const usable_bytes = capacity_bytes & ~(ALIGNMENT - 1);
        if (usable_bytes < ALIGNMENT or max_blocks < 2 or max_blocks > MAX_BLOCKS) return error.InvalidSize;
        const initial_blocks = @min(max_blocks, INITIAL_BLOCKS);
        const nodes = try gpa.alloc(Node, initial_blocks);
        errdefer gpa.free(nodes);
        const index = try OffsetIndex.init(gpa, initial_blocks);

        var self = Allocator{
            .gpa = gpa,
            .capacity_bytes = usable_bytes,
            .allocated_bytes = 0,
            .live_blocks = 0,
            .nodes = nodes,
            .max_blocks = max_blocks,
            .unused_head = NIL,
            .index = index,
            .fl_bitmap = 0,
            .sl_bitmaps = [_]SlBitmap{0} ** FL_COUNT,
            .heads = [_][SL_COUNT]u32{[_]u32{NIL} ** SL_COUNT} ** FL_COUNT,
        };
        // Node 0 is the whole region; it stays the physical head forever (merges keep the lower node).
        var i: u32 = initial_blocks - 1;
        while (i > 0) : (i -= 1) self.releaseNode(i);
        nodes[0] = .{
            .offset_bytes = 0,
            .size_bytes = usable_bytes,
            .phys_prev = NIL,
            .phys_next = NIL,
            .free_prev = NIL,
            .free_next = NIL,
            .is_free = true,
        };
        self.insertFree(0);
        return self;
    }

    pub fn deinit(self: *Allocator) void {
        self.gpa.free(self.index.slots);
        self.gpa.free(self.nodes);
        self.* = undefined;
    }

    pub fn alloc(self: *Allocator, size_bytes: u64) Error!u64 {
        // Comparing before rounding keeps alignUp from overflowing (capacity is already aligned).
        if (size_bytes == 0 or size_bytes > self.capacity_bytes) return error.InvalidSize;
        const need_bytes = alignUp(size_bytes);
        const idx = self.findFreeBlock(need_bytes) orelse return error.OutOfMemory;
        const must_split = self.nodes[idx].size_bytes > need_bytes;
        // Fail before mutating anything so an error leaves the state untouched.
        if (must_split and self.unused_head == NIL) try self.growPool();

        self.removeFree(idx);
        if (must_split) self.splitTail(idx, need_bytes);
        self.nodes[idx].is_free = false;
        self.index.insert(self.nodes, idx);
        self.allocated_bytes += need_bytes;
        self.live_blocks += 1;
        return self.nodes[idx].offset_bytes;
    }

    pub fn free(self: *Allocator, offset: u64) Error!void {
        const slot = self.lookupSlot(offset) orelse return error.InvalidOffset;
        const idx = self.index.slots[slot];
        self.index.removeSlot(self.nodes, slot);
        self.allocated_bytes -= self.nodes[idx].size_bytes;
        self.live_blocks -= 1;
        self.nodes[idx].is_free = true;

        const next = self.nodes[idx].phys_next;
        if (next != NIL and self.nodes[next].is_free) {
            self.removeFree(next);
            self.absorbNext(idx);
        }
        var merged = idx;
        const prev = self.nodes[idx].phys_prev;
        if (prev != NIL and self.nodes[prev].is_free) {
            self.removeFree(prev);
            self.absorbNext(prev);
            merged = prev;
        }
        self.insertFree(merged);
    }

    pub fn blockSize(self: *const Allocator, offset: u64) Error!u64 {
        const slot = self.lookupSlot(offset) orelse return error.InvalidOffset;
        return self.nodes[self.index.slots[slot]].size_bytes;
    }

    pub fn allocatedBytes(self: *const Allocator) u64 {
        return self.allocated_bytes;
    }

    /// Exact answer: bitmaps locate the top non-empty class, then its list is scanned
    /// (sizes inside one class differ by < 1/2^SL_LOG2, so that list is the only candidate).
    pub fn largestFreeBlock(self: *const Allocator) u64 {
        if (self.fl_bitmap == 0) return 0;
        const fl: u32 = 63 - @clz(self.fl_bitmap);
        const sl: u32 = SL_COUNT - 1 - @clz(self.sl_bitmaps[fl]);
        var largest_bytes: u64 = 0;
        var i = self.heads[fl][sl];
        while (i != NIL) : (i = self.nodes[i].free_next) {
            largest_bytes = @max(largest_bytes, self.nodes[i].size_bytes);
        }
        return largest_bytes;
    }

    pub fn capacityBytes(self: *const Allocator) u64 {
        return self.capacity_bytes;
    }

    pub fn liveBlocks(self: *const Allocator) u32 {
        return self.live_blocks;
    }

    /// O(blocks + index size); panics (in every build mode) on the first violation found.
    pub fn checkInvariants(self: *const Allocator) void {
        const free_blocks = self.checkPhysicalList();
        self.checkFreeLists(free_blocks);
        self.checkIndex();
        var unused: u64 = 0;
        var i = self.unused_head;
        while (i != NIL) : (i = self.nodes[i].free_next) unused += 1;
        ensure(unused + free_blocks + self.live_blocks == self.nodes.len, "node pool leaks or double-counts nodes");
    }

    // ---- internals ----

    /// Rejects malformed offsets up front so hostile values never reach the table probe.
    fn lookupSlot(self: *const Allocator, offset: u64) ?usize {
        if (offset % ALIGNMENT != 0 or offset >= self.capacity_bytes) return null;
        return self.index.findSlot(self.nodes, offset);
    }

    fn findFreeBlock(self: *const Allocator, need_bytes: u64) ?u32 {
        const units = need_bytes >> ALIGN_LOG2;
        const c = classOfUnits(roundUpToClassUnits(units));
        if (c.fl < FL_COUNT) {
            const sl_map = self.sl_bitmaps[c.fl] & (~@as(SlBitmap, 0) << @intCast(c.sl));
            if (sl_map != 0) return self.heads[c.fl][@ctz(sl_map)];
            const fl_map = self.fl_bitmap & std.math.shl(u64, ~@as(u64, 0), c.fl + 1);
            if (fl_map != 0) {
                const fl: u32 = @ctz(fl_map);
                return self.heads[fl][@ctz(self.sl_bitmaps[fl])];
            }
        }
        // Good fit found nothing larger; a block in the request's own class may still fit
        // (e.g. alloc(capacity) on an empty region), so peek at a bounded prefix of that list.
        return self.scanExactClass(need_bytes);
    }

    fn scanExactClass(self: *const Allocator, need_bytes: u64) ?u32 {
        const c = classOfUnits(need_bytes >> ALIGN_LOG2);
        var i = self.heads[c.fl][c.sl];
        var steps: u32 = 0;
        while (i != NIL and steps < FALLBACK_SCAN_LIMIT) : ({
            i = self.nodes[i].free_next;
            steps += 1;
        }) {
            if (self.nodes[i].size_bytes >= need_bytes) return i;
        }
        return null;
    }

    /// Carves the tail beyond `keep_bytes` off `idx` into a new free block.
    fn splitTail(self: *Allocator, idx: u32, keep_bytes: u64) void {
        const tail = self.takeNode();
        const node = &self.nodes[idx];
        self.nodes[tail] = .{
            .offset_bytes = node.offset_bytes + keep_bytes,
            .size_bytes = node.size_bytes - keep_bytes,
            .phys_prev = idx,
            .phys_next = node.phys_next,
            .free_prev = NIL,
            .free_next = NIL,
            .is_free = true,
        };
        if (node.phys_next != NIL) self.nodes[node.phys_next].phys_prev = tail;
        node.phys_next = tail;
        node.size_bytes = keep_bytes;
        // The old next neighbour was not free (no adjacent free blocks), so no merge is needed.
        self.insertFree(tail);
    }

    /// Merges the physical successor of `idx` into it; the successor must already be off its free list.
    fn absorbNext(self: *Allocator, idx: u32) void {
        const next = self.nodes[idx].phys_next;
        const after = self.nodes[next].phys_next;
        self.nodes[idx].size_bytes += self.nodes[next].size_bytes;
        self.nodes[idx].phys_next = after;
        if (after != NIL) self.nodes[after].phys_prev = idx;
        self.releaseNode(next);
    }

    fn insertFree(self: *Allocator, idx: u32) void {
        const c = classOfUnits(self.nodes[idx].size_bytes >> ALIGN_LOG2);
        const head = self.heads[c.fl][c.sl];
        self.nodes[idx].free_prev = NIL;
        self.nodes[idx].free_next = head;
        if (head != NIL) self.nodes[head].free_prev = idx;
        self.heads[c.fl][c.sl] = idx;
        self.sl_bitmaps[c.fl] |= @as(SlBitmap, 1) << @intCast(c.sl);
        self.fl_bitmap |= @as(u64, 1) << @intCast(c.fl);
    }

    fn removeFree(self: *Allocator, idx: u32) void {
        const node = &self.nodes[idx];
        if (node.free_prev != NIL) self.nodes[node.free_prev].free_next = node.free_next;
        if (node.free_next != NIL) self.nodes[node.free_next].free_prev = node.free_prev;
        const c = classOfUnits(node.size_bytes >> ALIGN_LOG2);
        if (self.heads[c.fl][c.sl] != idx) return;
        self.heads[c.fl][c.sl] = node.free_next;
        if (node.free_next != NIL) return;
        self.sl_bitmaps[c.fl] &= ~(@as(SlBitmap, 1) << @intCast(c.sl));
        if (self.sl_bitmaps[c.fl] == 0) self.fl_bitmap &= ~(@as(u64, 1) << @intCast(c.fl));
    }

    /// Doubles the node pool (indices stay valid) and rebuilds the offset index to match.
    /// Nothing changes when it fails, so alloc can still fail cleanly with OutOfBlocks.
    fn growPool(self: *Allocator) Error!void {
        const old_len: u32 = @intCast(self.nodes.len);
        if (old_len >= self.max_blocks) return error.OutOfBlocks;
        const new_len: u32 = @intCast(@min(@as(u64, self.max_blocks), @as(u64, old_len) * 2));
        var index = OffsetIndex.init(self.gpa, new_len) catch return error.OutOfBlocks;
        const nodes = self.gpa.realloc(self.nodes, new_len) catch {
            self.gpa.free(index.slots);
            return error.OutOfBlocks;
        };
        self.nodes = nodes;
        for (self.index.slots) |slot| {
            if (slot != NIL) index.insert(self.nodes, slot);
        }
        self.gpa.free(self.index.slots);
        self.index = index;
        var i: u32 = new_len - 1;
        while (i >= old_len) : (i -= 1) self.releaseNode(i);
    }

    fn takeNode(self: *Allocator) u32 {
        const idx = self.unused_head;
        std.debug.assert(idx != NIL); // callers check availability before mutating
        self.unused_head = self.nodes[idx].free_next;
        return idx;
    }

    fn releaseNode(self: *Allocator, idx: u32) void {
        self.nodes[idx].free_next = self.unused_head;
        self.unused_head = idx;
    }

    /// Returns the number of free blocks seen while checking that blocks tile the region.
    fn checkPhysicalList(self: *const Allocator) u64 {
        var expected_offset: u64 = 0;
        var allocated_sum: u64 = 0;
        var live: u64 = 0;
        var free_blocks: u64 = 0;
        var prev: u32 = NIL;
        var i: u32 = 0;
        while (i != NIL) : (i = self.nodes[i].phys_next) {
            const node = self.nodes[i];
            ensure(node.phys_prev == prev, "physical back link broken");
            ensure(node.offset_bytes == expected_offset, "blocks do not tile the region");
            ensure(node.size_bytes > 0 and node.size_bytes % ALIGNMENT == 0, "block size not a positive multiple of ALIGNMENT");
            ensure(node.size_bytes <= self.capacity_bytes - node.offset_bytes, "block runs past capacity");
            if (node.is_free) {
                ensure(prev == NIL or !self.nodes[prev].is_free, "two adjacent free blocks");
                free_blocks += 1;
            } else {
                allocated_sum += node.size_bytes;
                live += 1;
            }
            expected_offset += node.size_bytes;
            prev = i;
        }
        ensure(expected_offset == self.capacity_bytes, "blocks do not reach capacity");
        ensure(allocated_sum == self.allocated_bytes, "allocated_bytes mismatch");
        ensure(live == self.live_blocks, "live_blocks mismatch");
        return free_blocks;
    }

    fn checkFreeLists(self: *const Allocator, free_blocks: u64) void {
        var listed: u64 = 0;
        for (0..FL_COUNT) |fl| {
            const fl_bit = (self.fl_bitmap >> @intCast(fl)) & 1 != 0;
            ensure(fl_bit == (self.sl_bitmaps[fl] != 0), "first-level bitmap disagrees with second level");
            for (0..SL_COUNT) |sl| {
                const sl_bit = (self.sl_bitmaps[fl] >> @intCast(sl)) & 1 != 0;
                ensure(sl_bit == (self.heads[fl][sl] != NIL), "second-level bitmap disagrees with list");
                var prev: u32 = NIL;
                var i = self.heads[fl][sl];
                while (i != NIL) : (i = self.nodes[i].free_next) {
                    const node = self.nodes[i];
                    const c = classOfUnits(node.size_bytes >> ALIGN_LOG2);
                    ensure(node.is_free, "allocated block on a free list");
                    ensure(c.fl == fl and c.sl == sl, "free block filed under the wrong class");
                    ensure(node.free_prev == prev, "free-list back link broken");
                    listed += 1;
                    prev = i;
                }
            }
        }
        ensure(listed == free_blocks, "free lists do not hold exactly the free blocks");
    }

    fn checkIndex(self: *const Allocator) void {
        var indexed: u64 = 0;
        for (self.index.slots) |idx| {
            if (idx == NIL) continue;
            ensure(!self.nodes[idx].is_free, "free block in the offset index");
            ensure(self.index.findSlot(self.nodes, self.nodes[idx].offset_bytes) != null, "index entry unreachable by probing");
            indexed += 1;
        }
        ensure(indexed == self.live_blocks, "offset index size mismatch");
    }
};

// ---------------------------------------------------------------- tests

const testing = std.testing;

const Live = struct { offset: u64, size_bytes: u64 };

fn lessByOffset(_: void, a: Live, b: Live) bool {
    return a.offset < b.offset;
}

/// Independent model check: live blocks are aligned, in range, disjoint and sum to allocatedBytes.
fn expectConsistent(a: *const Allocator, live: []const Live, scratch: []Live) !void {
    const sorted = scratch[0..live.len];
    @memcpy(sorted, live);
    std.mem.sort(Live, sorted, {}, lessByOffset);
    var sum: u64 = 0;
    var end: u64 = 0;
    for (sorted) |b| {
        try testing.expect(b.offset % ALIGNMENT == 0);
        try testing.expect(b.offset >= end); // no overlap with the previous block
        end = b.offset + b.size_bytes;
        try testing.expect(end <= a.capacityBytes());
        sum += b.size_bytes;
    }
    try testing.expectEqual(sum, a.allocatedBytes());
    try testing.expectEqual(@as(u32, @intCast(live.len)), a.liveBlocks());
    a.checkInvariants();
}

fn randomSize(rand: std.Random, capacity_bytes: u64) u64 {
    // Mostly log-uniform small/medium sizes up to ~3% of capacity, occasionally a big one.
    if (rand.uintLessThan(u32, 100) < 3) return rand.intRangeAtMost(u64, capacity_bytes / 8, capacity_bytes / 3);
    const max_bits = std.math.log2_int(u64, capacity_bytes * 3 / 100);
    const bits = rand.intRangeAtMost(u6, 0, max_bits);
    return rand.intRangeAtMost(u64, 1, @as(u64, 1) << bits);
}

fn churn(seed: u64, capacity_bytes: u64, ops: u32) !void {
    const max_blocks: u32 = 4096;
    var a = try Allocator.init(testing.allocator, capacity_bytes, max_blocks);
    defer a.deinit();
    var live = std.ArrayList(Live).init(testing.allocator);
    defer live.deinit();
    const scratch = try testing.allocator.alloc(Live, max_blocks);
    defer testing.allocator.free(scratch);
    var prng = std.Random.DefaultPrng.init(seed);
    const rand = prng.random();

    for (0..ops) |op| {
        if (live.items.len == 0 or rand.uintLessThan(u32, 100) < 55) {
            const size = randomSize(rand, a.capacityBytes());
            if (a.alloc(size)) |offset| {
                try testing.expectEqual(alignUp(size), try a.blockSize(offset));
                try testing.expect(offset % ALIGNMENT == 0 and offset + alignUp(size) <= a.capacityBytes());
                try live.append(.{ .offset = offset, .size_bytes = alignUp(size) });
            } else |err| {
                try testing.expectEqual(error.OutOfMemory, err);
                // Good-fit bound: failure is only allowed when no block reaches the rounded class.
                try testing.expect(a.largestFreeBlock() < goodFitBytes(size));
            }
        } else {
            const b = live.swapRemove(rand.uintLessThan(usize, live.items.len));
            try a.free(b.offset);
            try testing.expectError(error.InvalidOffset, a.free(b.offset));
        }
        if (op % 16 == 0) try expectConsistent(&a, live.items, scratch);
    }
    try expectConsistent(&a, live.items, scratch);
    for (live.items) |b| try a.free(b.offset);
    try testing.expectEqual(@as(u64, 0), a.allocatedBytes());
    try testing.expectEqual(@as(u32, 0), a.liveBlocks());
    try testing.expectEqual(a.capacityBytes(), a.largestFreeBlock());
    a.checkInvariants();
}

test "randomized churn keeps blocks disjoint, aligned, in range and fully coalescing" {
    // Odd capacities exercise the round-down and non-class-boundary region sizes.
    try churn(1, 64 << 20, 20_000);
    try churn(0xdead_beef, (48 << 20) + 4096 + 37, 20_000);
    try churn(42, (1 << 30) - 64, 20_000);
    try churn(7, 3 << 20, 20_000);
}

test "exhaustion returns OutOfMemory and freed space is reusable" {
    var a = try Allocator.init(testing.allocator, 100 * ALIGNMENT, 1000);
    defer a.deinit();
    var offsets: [100]u64 = undefined;
    for (&offsets) |*o| o.* = try a.alloc(1);
    try testing.expectError(error.OutOfMemory, a.alloc(1));
    try testing.expectEqual(@as(u64, 0), a.largestFreeBlock());
    try a.free(offsets[50]);
    try testing.expectEqual(offsets[50], try a.alloc(ALIGNMENT));
    try testing.expectError(error.OutOfMemory, a.alloc(1));
    // A 3-block hole satisfies a 3-block request and nothing larger.
    for (offsets[10..13]) |o| try a.free(o);
    try testing.expectError(error.OutOfMemory, a.alloc(4 * ALIGNMENT));
    try testing.expectEqual(offsets[10], try a.alloc(3 * ALIGNMENT));
    a.checkInvariants();
}

test "whole-capacity allocation and oversize requests" {
    // 1000 units is not a class boundary, so this needs the exact-class fallback.
    var a = try Allocator.init(testing.allocator, 1000 * ALIGNMENT + 17, 16);
    defer a.deinit();
    try testing.expectEqual(1000 * ALIGNMENT, a.capacityBytes());
    try testing.expectEqual(@as(u64, 0), try a.alloc(a.capacityBytes()));
    try testing.expectEqual(a.capacityBytes(), a.allocatedBytes());
    try a.free(0);
    try testing.expectError(error.InvalidSize, a.alloc(a.capacityBytes() + ALIGNMENT));
    try testing.expectError(error.InvalidSize, a.alloc(a.capacityBytes() + 1));
    try testing.expectEqual(a.capacityBytes(), a.largestFreeBlock());
    a.checkInvariants();
}

test "node pool exhaustion returns OutOfBlocks without changing state" {
    var a = try Allocator.init(testing.allocator, 1 << 20, 3);
    defer a.deinit();
    const x = try a.alloc(64); // 2 nodes: x + tail
    const y = try a.alloc(64); // 3 nodes: x + y + tail
    try testing.expectError(error.OutOfBlocks, a.alloc(64));
    a.checkInvariants();
    try testing.expectEqual(@as(u32, 2), a.liveBlocks());
    // An exact fit needs no new node, so it still succeeds.
    const z = try a.alloc(a.largestFreeBlock());
    try testing.expectEqual(a.capacityBytes(), a.allocatedBytes());
    for ([_]u64{ y, x, z }) |o| try a.free(o);
    try testing.expectEqual(a.capacityBytes(), a.largestFreeBlock());
    a.checkInvariants();
}

test "bad inputs are rejected without state change" {
    var a = try Allocator.init(testing.allocator, 1 << 20, 64);
    defer a.deinit();
    const x = try a.alloc(1000);
    const y = try a.alloc(64);
    try a.free(y);
    const before = .{ a.allocatedBytes(), a.liveBlocks(), a.largestFreeBlock() };
    const bad = [_]u64{ x + 1, x + 64, y, 1 << 20, std.math.maxInt(u64), std.math.maxInt(u64) - 63, 4096 };
    for (bad) |o| {
        try testing.expectError(error.InvalidOffset, a.free(o));
        try testing.expectError(error.InvalidOffset, a.blockSize(o));
    }
    try testing.expectError(error.InvalidSize, a.alloc(0));
    try testing.expectError(error.InvalidSize, a.alloc(std.math.maxInt(u64)));
    try testing.expectError(error.InvalidSize, a.alloc(std.math.maxInt(u64) - 62));
    try testing.expectEqual(before, .{ a.allocatedBytes(), a.liveBlocks(), a.largestFreeBlock() });
    a.checkInvariants();
    try a.free(x);
    try testing.expectError(error.InvalidOffset, a.free(x));
    try testing.expectEqual(a.capacityBytes(), a.largestFreeBlock());
}

test "init validates arguments and propagates allocation failure" {
    try testing.expectError(error.InvalidSize, Allocator.init(testing.allocator, 63, 16));
    try testing.expectError(error.InvalidSize, Allocator.init(testing.allocator, 1 << 20, 1));
    try testing.expectError(error.InvalidSize, Allocator.init(testing.allocator, 1 << 20, NIL));
    for (0..2) |fail_index| {
        var failing = testing.FailingAllocator.init(testing.allocator, .{ .fail_index = fail_index });
        try testing.expectError(error.OutOfMemory, Allocator.init(failing.allocator(), 1 << 20, 16));
    }
    var a = try Allocator.init(testing.allocator, std.math.maxInt(u64), 16);
    defer a.deinit();
    try testing.expectEqual(std.math.maxInt(u64) - 63, a.capacityBytes());
    const big = try a.alloc(std.math.maxInt(u64) / 2);
    try testing.expectEqual(std.math.maxInt(u64) / 2 + 1, try a.blockSize(big));
    try a.free(big);
    a.checkInvariants();
}

test "freeing middle last coalesces both neighbours" {
    var a = try Allocator.init(testing.allocator, 3 * 4096, 8);
    defer a.deinit();
    const p = try a.alloc(4096);
    const q = try a.alloc(4096);
    const r = try a.alloc(4096);
    try testing.expect(q == p + 4096 and r == q + 4096);
    try a.free(p);
    try a.free(r);
    try testing.expectEqual(@as(u64, 4096), a.largestFreeBlock());
    a.checkInvariants();
    try a.free(q);
    try testing.expectEqual(a.capacityBytes(), a.largestFreeBlock());
    a.checkInvariants();
}

test "good-fit bound: a free block of goodFitBytes(S) always satisfies S" {
    // Bound being tested: goodFitBytes(S) - alignUp(S) < alignUp(S) / 2^SL_LOG2 (plus nothing for
    // requests under SL_COUNT units, whose classes are exact).
    var size: u64 = 1;
    while (size < (1 << 40)) : (size = size * 3 / 2 + 1) {
        const need = alignUp(size);
        try testing.expect(goodFitBytes(size) >= need);
        try testing.expect(goodFitBytes(size) - need <= need >> SL_LOG2);
    }

    var a = try Allocator.init(testing.allocator, 32 << 20, 8192);
    defer a.deinit();
    var prng = std.Random.DefaultPrng.init(99);
    const rand = prng.random();
    var live = std.ArrayList(u64).init(testing.allocator);
    defer live.deinit();
    for (0..20_000) |_| {
        if (live.items.len > 0 and rand.boolean()) {
            try a.free(live.swapRemove(rand.uintLessThan(usize, live.items.len)));
        } else if (a.alloc(randomSize(rand, a.capacityBytes()))) |o| {
            try live.append(o);
        } else |_| {}
        // Probe: any request whose good-fit size is available must succeed.
        const probe = rand.intRangeAtMost(u64, 1, a.capacityBytes() / 4);
        if (a.largestFreeBlock() >= goodFitBytes(probe)) {
            try a.free(try a.alloc(probe));
        } else if (a.alloc(probe)) |o| {
            // The exact-class fallback may still succeed below the bound; that is allowed.
            try a.free(o);
        } else |err| try testing.expectEqual(error.OutOfMemory, err);
    }
    a.checkInvariants();
}

test "the node pool starts small and grows on demand up to max_blocks" {
    var a = try Allocator.init(testing.allocator, 1 << 30, INITIAL_BLOCKS * 4);
    defer a.deinit();
    try testing.expectEqual(@as(usize, INITIAL_BLOCKS), a.nodes.len);
    var count: u32 = 0;
    while (count < INITIAL_BLOCKS * 4 - 1) : (count += 1) _ = try a.alloc(64);
    try testing.expectEqual(@as(usize, INITIAL_BLOCKS * 4), a.nodes.len);
    a.checkInvariants();
    try testing.expectError(error.OutOfBlocks, a.alloc(64));
    a.checkInvariants();
}

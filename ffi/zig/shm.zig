//! Shared-memory chunks: fd-backed regions (memfd or an unlinked file in a directory) mapped
//! MAP_SHARED, plus a registry that maps an address back to (fd, offset).
//! Invariant: a registered region is mapped exactly once; unmap removes it from the registry.
const std = @import("std");
const linux = std.os.linux;
const constants = @import("constants.zig");
const status_mod = @import("status.zig");
const Status = status_mod.Status;
const syscallError = status_mod.syscallError;

pub const ChunkKind = enum(u32) { memfd = 0, file = 1 };

pub const flag_populate: u32 = 1;
pub const flag_hugepages: u32 = 2;
pub const flag_fallocate: u32 = 4;
pub const flag_read_only: u32 = 8;
const flags_known: u32 = flag_populate | flag_hugepages | flag_fallocate | flag_read_only;

const huge_page_bytes: u64 = 2 * 1024 * 1024;

/// What a created or mapped chunk looks like to the caller (written into its out buffer).
pub const Mapping = extern struct {
    address: u64,
    fd: i64,
    size_bytes: u64,
};

/// Creates an fd-backed chunk of `size_bytes`, sizes it and maps it read-write.
pub fn createChunk(kind_raw: u32, dir: [*:0]const u8, size_bytes: u64, flags: u32, out: *Mapping) Status {
    if (flags & ~flags_known != 0 or size_bytes == 0) return .invalid_argument;
    if (kind_raw > @intFromEnum(ChunkKind.file)) return .invalid_argument;
    const kind: ChunkKind = @enumFromInt(kind_raw);
    const hugepages = flags & flag_hugepages != 0;
    const mapped_bytes = if (hugepages) roundUp(size_bytes, huge_page_bytes) orelse return .invalid_argument else size_bytes;
    if (mapped_bytes > std.math.maxInt(i64)) return .invalid_argument;

    var fd: i32 = -1;
    const open_status = switch (kind) {
        .memfd => openMemfd(hugepages, &fd),
        .file => openUnlinkedFile(dir, &fd),
    };
    if (open_status != .ok) return open_status;
    const sized = sizeChunk(fd, mapped_bytes, flags & flag_fallocate != 0);
    const result = if (sized == .ok) mapFd(fd, mapped_bytes, flags, out) else sized;
    if (result != .ok) closeFd(fd);
    return result;
}

/// Maps `size_bytes` of an existing fd (e.g. one received over a socket) and registers it.
pub fn mapFd(fd: i32, size_bytes: u64, flags: u32, out: *Mapping) Status {
    if (flags & ~flags_known != 0 or size_bytes == 0 or fd < 0) return .invalid_argument;
    if (size_bytes > std.math.maxInt(isize)) return .invalid_argument;
    const prot: usize = if (flags & flag_read_only != 0) linux.PROT.READ else linux.PROT.READ | linux.PROT.WRITE;
    const map_flags = linux.MAP{ .TYPE = .SHARED, .POPULATE = flags & flag_populate != 0 };
    const rc = linux.mmap(null, @intCast(size_bytes), prot, map_flags, fd, 0);
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    const region_status = registry.add(.{ .address = rc, .size_bytes = size_bytes, .fd = fd });
    if (region_status != .ok) {
        _ = linux.munmap(@ptrFromInt(rc), @intCast(size_bytes));
        return region_status;
    }
    out.* = .{ .address = rc, .fd = fd, .size_bytes = size_bytes };
    return .ok;
}

/// Unmaps a region that mapFd or createChunk returned; the fd stays open (closeFd closes it).
pub fn unmap(address: u64, size_bytes: u64) Status {
    const removed = registry.remove(address, size_bytes);
    if (removed != .ok) return removed;
    const rc = linux.munmap(@ptrFromInt(address), @intCast(size_bytes));
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    return .ok;
}

/// Finds the region holding `address`: writes its fd and the offset of `address` inside it.
pub fn lookup(address: u64, out: *[2]i64) Status {
    return registry.lookup(address, out);
}

pub fn closeFd(fd: i32) void {
    // close() must not be retried on EINTR on Linux: the fd is released either way.
    _ = linux.close(fd);
}

/// Free bytes available to unprivileged users in the filesystem holding `path`, and its size.
pub fn filesystemSpace(path: [*:0]const u8, out: *[2]u64) Status {
    var buf: StatFs = undefined;
    const rc = linux.syscall2(.statfs, @intFromPtr(path), @intFromPtr(&buf));
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    const block: u64 = @intCast(buf.f_bsize);
    out[0] = std.math.mul(u64, buf.f_bavail, block) catch std.math.maxInt(u64);
    out[1] = std.math.mul(u64, buf.f_blocks, block) catch std.math.maxInt(u64);
    return .ok;
}

const StatFs = extern struct {
    f_type: i64,
    f_bsize: i64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_fsid: [2]i32,
    f_namelen: i64,
    f_frsize: i64,
    f_flags: i64,
    f_spare: [4]i64,
};

fn roundUp(value: u64, multiple: u64) ?u64 {
    const sum = std.math.add(u64, value, multiple - 1) catch return null;
    return sum / multiple * multiple;
}

fn openMemfd(hugepages: bool, fd_out: *i32) Status {
    const huge: u32 = if (hugepages) linux.MFD.HUGETLB else 0;
    const flags: u32 = linux.MFD.CLOEXEC | huge;
    const rc = linux.memfd_create("plasma", flags);
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    fd_out.* = @intCast(rc);
    return .ok;
}

/// An unlinked file: O_TMPFILE where the filesystem has it, else a named file removed at once.
fn openUnlinkedFile(dir: [*:0]const u8, fd_out: *i32) Status {
    const tmp_flags = linux.O{ .ACCMODE = .RDWR, .CLOEXEC = true, .TMPFILE = true, .DIRECTORY = true };
    const rc = linux.openat(linux.AT.FDCWD, dir, tmp_flags, 0o600);
    if (syscallError(rc)) |err| {
        if (err != .OPNOTSUPP and err != .ISDIR and err != .INVAL) return status_mod.fromErrno(err);
        return openNamedThenUnlink(dir, fd_out);
    }
    fd_out.* = @intCast(rc);
    return .ok;
}

fn openNamedThenUnlink(dir: [*:0]const u8, fd_out: *i32) Status {
    const dir_slice = std.mem.span(dir);
    var path_buf: [4096]u8 = undefined;
    var attempt: u32 = 0;
    while (attempt < 16) : (attempt += 1) {
        const path = std.fmt.bufPrintZ(&path_buf, "{s}/plasma-{x:0>16}", .{ dir_slice, std.crypto.random.int(u64) }) catch
            return .name_too_long;
        const flags = linux.O{ .ACCMODE = .RDWR, .CLOEXEC = true, .CREAT = true, .EXCL = true };
        const rc = linux.openat(linux.AT.FDCWD, path, flags, 0o600);
        if (syscallError(rc)) |err| {
            if (err == .EXIST) continue;
            return status_mod.fromErrno(err);
        }
        _ = linux.unlinkat(linux.AT.FDCWD, path, 0);
        fd_out.* = @intCast(rc);
        return .ok;
    }
    return .already_exists;
}

/// Sizes the chunk. fallocate reserves the blocks now, so a full disk fails here
/// rather than with SIGBUS when a page is first touched.
fn sizeChunk(fd: i32, size_bytes: u64, reserve: bool) Status {
    if (reserve) {
        while (true) {
            const rc = linux.fallocate(fd, 0, 0, @intCast(size_bytes));
            const err = syscallError(rc) orelse return .ok;
            if (err == .INTR) continue;
            if (err != .OPNOTSUPP) return status_mod.fromErrno(err);
            break; // filesystem without fallocate: plain ftruncate below
        }
    }
    while (true) {
        const rc = linux.ftruncate(fd, @intCast(size_bytes));
        const err = syscallError(rc) orelse return .ok;
        if (err != .INTR) return status_mod.fromErrno(err);
    }
}

const Region = struct { address: u64, size_bytes: u64, fd: i32 };

/// Process-wide: the store's Worker and the main thread load the same library.
const Registry = struct {
    mutex: std.Thread.Mutex = .{},
    regions: std.ArrayListUnmanaged(Region) = .{},

    fn add(self: *Registry, region: Region) Status {
        self.mutex.lock();
        defer self.mutex.unlock();
        if (self.regions.items.len >= constants.regions_max) return .system_resources;
        self.regions.append(std.heap.c_allocator, region) catch return .system_resources;
        return .ok;
    }

    fn remove(self: *Registry, address: u64, size_bytes: u64) Status {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.regions.items, 0..) |region, index| {
            if (region.address != address) continue;
            if (region.size_bytes != size_bytes) return .invalid_argument;
            _ = self.regions.swapRemove(index);
            return .ok;
        }
        return .not_found;
    }

    fn lookup(self: *Registry, address: u64, out: *[2]i64) Status {
        self.mutex.lock();
        defer self.mutex.unlock();
        for (self.regions.items) |region| {
            if (address < region.address or address - region.address >= region.size_bytes) continue;
            out[0] = region.fd;
            out[1] = @intCast(address - region.address);
            return .ok;
        }
        return .not_found;
    }
};

var registry: Registry = .{};

test "a memfd chunk is mapped, found by address and unmapped" {
    var mapping: Mapping = undefined;
    try std.testing.expectEqual(Status.ok, createChunk(0, "", 1 << 20, flag_populate, &mapping));
    defer closeFd(@intCast(mapping.fd));
    const bytes: [*]u8 = @ptrFromInt(mapping.address);
    bytes[4096] = 7;
    var where: [2]i64 = undefined;
    try std.testing.expectEqual(Status.ok, lookup(mapping.address + 4096, &where));
    try std.testing.expectEqual(mapping.fd, where[0]);
    try std.testing.expectEqual(@as(i64, 4096), where[1]);
    try std.testing.expectEqual(Status.ok, unmap(mapping.address, mapping.size_bytes));
    try std.testing.expectEqual(Status.not_found, lookup(mapping.address + 4096, &where));
}

test "a file chunk in a missing directory fails with not_found" {
    var mapping: Mapping = undefined;
    try std.testing.expectEqual(Status.not_found, createChunk(1, "/nonexistent-plasma-dir", 4096, flag_fallocate, &mapping));
}

test "bad flags and sizes are refused" {
    var mapping: Mapping = undefined;
    try std.testing.expectEqual(Status.invalid_argument, createChunk(0, "", 0, 0, &mapping));
    try std.testing.expectEqual(Status.invalid_argument, createChunk(0, "", 4096, 1 << 20, &mapping));
    try std.testing.expectEqual(Status.invalid_argument, createChunk(9, "", 4096, 0, &mapping));
    try std.testing.expectEqual(Status.invalid_argument, createChunk(0, "", std.math.maxInt(u64), 0, &mapping));
}

test "a file chunk in /tmp is fallocated and shared between two mappings" {
    var first: Mapping = undefined;
    try std.testing.expectEqual(Status.ok, createChunk(1, "/tmp", 8192, flag_fallocate, &first));
    defer closeFd(@intCast(first.fd));
    var second: Mapping = undefined;
    try std.testing.expectEqual(Status.ok, mapFd(@intCast(first.fd), 8192, 0, &second));
    @as([*]u8, @ptrFromInt(first.address))[100] = 42;
    try std.testing.expectEqual(@as(u8, 42), @as([*]u8, @ptrFromInt(second.address))[100]);
    try std.testing.expectEqual(Status.ok, unmap(first.address, first.size_bytes));
    try std.testing.expectEqual(Status.ok, unmap(second.address, second.size_bytes));
}

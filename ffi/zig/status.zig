//! Stable status codes returned across the FFI boundary, and the one exhaustive errno mapping.
//! Invariant: numbers never change meaning; ffi/status.ts mirrors this table (a test checks it).
const std = @import("std");
const linux = std.os.linux;

pub const Status = enum(c_int) {
    ok = 0,
    would_block = 1,
    peer_closed = 2,
    frame_too_large = 3,
    buffer_too_small = 4,
    invalid_argument = 5,
    out_of_memory = 6,
    out_of_blocks = 7,
    invalid_offset = 8,
    no_space = 9,
    permission_denied = 10,
    not_found = 11,
    address_in_use = 12,
    connection_refused = 13,
    too_many_fds = 14,
    system_resources = 15,
    bad_fd = 16,
    fd_count_invalid = 17,
    fd_missing = 18,
    timed_out = 19,
    name_too_long = 20,
    not_supported = 21,
    file_too_big = 22,
    output_queue_full = 23,
    queued = 24,
    unexpected = 25,
    already_exists = 26,
    not_a_socket = 27,
    /// Not a failure of the stream: the caller's memory allowance must grow before this read can.
    budget_exceeded = 28,

    pub fn code(self: Status) c_int {
        return @intFromEnum(self);
    }
};

/// The number of statuses, exported so the TypeScript table can be checked against it.
pub const status_count: c_int = @typeInfo(Status).@"enum".fields.len;

/// Maps an errno from a failed syscall to a status. EINTR and EAGAIN are handled by callers
/// (retry / would_block) before they reach here, but are mapped for completeness.
pub fn fromErrno(err: linux.E) Status {
    return switch (err) {
        .SUCCESS => .ok,
        .AGAIN => .would_block,
        .PIPE, .CONNRESET, .NOTCONN, .SHUTDOWN, .CONNABORTED => .peer_closed,
        .INVAL, .FAULT, .BADMSG, .DOM, .RANGE, .OVERFLOW, .SPIPE, .ISDIR, .NOTDIR, .LOOP => .invalid_argument,
        .NOSPC, .DQUOT => .no_space,
        .ACCES, .PERM, .ROFS, .TXTBSY => .permission_denied,
        .NOENT, .SRCH => .not_found,
        .ADDRINUSE, .ADDRNOTAVAIL => .address_in_use,
        .CONNREFUSED => .connection_refused,
        .MFILE, .NFILE => .too_many_fds,
        .NOMEM, .NOBUFS => .system_resources,
        .BADF => .bad_fd,
        .TIMEDOUT => .timed_out,
        .NAMETOOLONG => .name_too_long,
        .OPNOTSUPP, .NOSYS, .NODEV, .AFNOSUPPORT, .PROTONOSUPPORT, .PROTOTYPE, .NXIO => .not_supported,
        .FBIG => .file_too_big,
        .EXIST => .already_exists,
        .NOTSOCK => .not_a_socket,
        else => .unexpected,
    };
}

/// The errno of a raw linux syscall result, or null when it succeeded.
pub fn syscallError(rc: usize) ?linux.E {
    const signed: isize = @bitCast(rc);
    if (signed >= 0 or signed <= -4096) return null;
    return @enumFromInt(@as(u16, @intCast(-signed)));
}

test "every errno maps to a status and EAGAIN means would_block" {
    try std.testing.expectEqual(Status.would_block, fromErrno(.AGAIN));
    try std.testing.expectEqual(Status.no_space, fromErrno(.NOSPC));
    try std.testing.expectEqual(Status.peer_closed, fromErrno(.PIPE));
    try std.testing.expectEqual(Status.unexpected, fromErrno(.XDEV));
    inline for (@typeInfo(linux.E).@"enum".fields) |field| {
        _ = fromErrno(@enumFromInt(field.value));
    }
}

//! Unix domain stream sockets: listen (mode 0600 by default), accept, connect, peer credentials.
//! Invariant: every fd this file returns is CLOEXEC; listening and accepted fds are non-blocking.
const std = @import("std");
const linux = std.os.linux;
const constants = @import("constants.zig");
const status_mod = @import("status.zig");
const Status = status_mod.Status;
const syscallError = status_mod.syscallError;

/// Binds and listens on `path`. The mode is set on the socket before bind so the file never
/// exists with wider permissions (Linux applies the socket inode's mode, minus umask, at bind);
/// after bind the file gets exactly `mode`, so a deliberate share (0660) is not cut by the umask.
pub fn listen(path: [*:0]const u8, mode: u32, backlog: u32, fd_out: *i32) Status {
    if (mode > 0o777 or backlog == 0) return .invalid_argument;
    var address: linux.sockaddr.un = undefined;
    const fill = fillAddress(path, &address);
    if (fill != .ok) return fill;
    var fd: i32 = -1;
    const opened = openSocket(linux.SOCK.NONBLOCK, &fd);
    if (opened != .ok) return opened;
    const result = bindAndListen(fd, path, &address, mode, backlog);
    if (result != .ok) {
        _ = linux.close(fd);
        return result;
    }
    fd_out.* = fd;
    return .ok;
}

fn bindAndListen(fd: i32, path: [*:0]const u8, address: *const linux.sockaddr.un, mode: u32, backlog: u32) Status {
    if (syscallError(linux.fchmod(fd, mode))) |err| return status_mod.fromErrno(err);
    const rc_bind = linux.bind(fd, @ptrCast(address), @sizeOf(linux.sockaddr.un));
    if (syscallError(rc_bind)) |err| return status_mod.fromErrno(err);
    if (syscallError(linux.chmod(path, mode))) |err| {
        _ = linux.unlink(path);
        return status_mod.fromErrno(err);
    }
    if (syscallError(linux.listen(fd, backlog))) |err| return status_mod.fromErrno(err);
    return .ok;
}

/// Accepts one pending connection as a non-blocking fd; would_block when none is pending.
pub fn accept(listen_fd: i32, fd_out: *i32) Status {
    while (true) {
        const rc = linux.accept4(listen_fd, null, null, linux.SOCK.NONBLOCK | linux.SOCK.CLOEXEC);
        const err = syscallError(rc) orelse {
            fd_out.* = @intCast(rc);
            return .ok;
        };
        switch (err) {
            .INTR => continue,
            // The peer gave up before we accepted it: nothing to hand out, try the next one.
            .CONNABORTED, .PROTO => continue,
            else => return status_mod.fromErrno(err),
        }
    }
}

/// Connects to `path`. The returned fd is blocking unless `non_blocking` is set.
pub fn connect(path: [*:0]const u8, non_blocking: bool, fd_out: *i32) Status {
    var address: linux.sockaddr.un = undefined;
    const fill = fillAddress(path, &address);
    if (fill != .ok) return fill;
    var fd: i32 = -1;
    const opened = openSocket(if (non_blocking) linux.SOCK.NONBLOCK else 0, &fd);
    if (opened != .ok) return opened;
    while (true) {
        const rc = linux.connect(fd, @ptrCast(&address), @sizeOf(linux.sockaddr.un));
        const err = syscallError(rc) orelse break;
        if (err == .INTR) continue;
        _ = linux.close(fd);
        return status_mod.fromErrno(err);
    }
    fd_out.* = fd;
    return .ok;
}

/// A connected pair, for tests and in-process plumbing.
pub fn pair(fds_out: *[2]i32) Status {
    const rc = linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0, fds_out);
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    return .ok;
}

/// The peer's pid, uid and gid as the kernel recorded them at connect time.
pub fn peerCredentials(fd: i32, out: *[3]i32) Status {
    var cred: extern struct { pid: i32, uid: u32, gid: u32 } = undefined;
    var length: linux.socklen_t = @sizeOf(@TypeOf(cred));
    const rc = linux.getsockopt(fd, linux.SOL.SOCKET, linux.SO.PEERCRED, @ptrCast(&cred), &length);
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    out.* = .{ cred.pid, @bitCast(cred.uid), @bitCast(cred.gid) };
    return .ok;
}

/// Switches an fd between blocking and non-blocking mode.
pub fn setNonBlocking(fd: i32, enabled: bool) Status {
    const rc_get = linux.fcntl(fd, linux.F.GETFL, 0);
    if (syscallError(rc_get)) |err| return status_mod.fromErrno(err);
    const nonblock: usize = 1 << @bitOffsetOf(linux.O, "NONBLOCK");
    const flags = if (enabled) rc_get | nonblock else rc_get & ~nonblock;
    if (syscallError(linux.fcntl(fd, linux.F.SETFL, flags))) |err| return status_mod.fromErrno(err);
    return .ok;
}

fn openSocket(extra_flags: u32, fd_out: *i32) Status {
    const rc = linux.socket(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC | extra_flags, 0);
    if (syscallError(rc)) |err| return status_mod.fromErrno(err);
    fd_out.* = @intCast(rc);
    return .ok;
}

fn fillAddress(path: [*:0]const u8, address: *linux.sockaddr.un) Status {
    const path_slice = std.mem.span(path);
    if (path_slice.len == 0) return .invalid_argument;
    if (path_slice.len > constants.socket_path_bytes_max) return .name_too_long;
    address.* = .{ .path = [_]u8{0} ** 108 };
    @memcpy(address.path[0..path_slice.len], path_slice);
    return .ok;
}

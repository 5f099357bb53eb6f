//! The event wait: an epoll set over many fds plus an eventfd that wakes a blocked wait.
//! TypeScript calls wait() synchronously with timeout 0 while busy, and as a nonblocking FFI
//! call (on another thread) with a timeout when idle. Invariant: wait() only reads the kernel's
//! ready list into the caller's buffer; it never touches connection state, so the JS thread may
//! read, write and re-register fds while a blocking wait is in progress.
const std = @import("std");
const linux = std.os.linux;
const constants = @import("constants.zig");
const status_mod = @import("status.zig");
const Status = status_mod.Status;
const syscallError = status_mod.syscallError;

pub const event_readable: u32 = 1;
pub const event_writable: u32 = 2;
pub const event_hangup: u32 = 4;
pub const event_error: u32 = 8;
/// Interest bits of add/modify: also watch for writability; stop watching for readability.
pub const interest_writable: u32 = 1;
pub const interest_reads_paused: u32 = 2;

/// Token reserved for the wake-up eventfd; wait() swallows its events.
const wake_token: u32 = std.math.maxInt(u32);

pub const Poller = struct {
    epoll_fd: i32,
    wake_fd: i32,

    pub fn create(out: **Poller) Status {
        const rc_epoll = linux.epoll_create1(linux.EPOLL.CLOEXEC);
        if (syscallError(rc_epoll)) |err| return status_mod.fromErrno(err);
        const epoll_fd: i32 = @intCast(rc_epoll);
        const rc_event = linux.eventfd(0, linux.EFD.CLOEXEC | linux.EFD.NONBLOCK);
        if (syscallError(rc_event)) |err| {
            _ = linux.close(epoll_fd);
            return status_mod.fromErrno(err);
        }
        const wake_fd: i32 = @intCast(rc_event);
        const self = std.heap.c_allocator.create(Poller) catch {
            _ = linux.close(epoll_fd);
            _ = linux.close(wake_fd);
            return .system_resources;
        };
        self.* = .{ .epoll_fd = epoll_fd, .wake_fd = wake_fd };
        const added = self.control(linux.EPOLL.CTL_ADD, wake_fd, wake_token, 0);
        if (added != .ok) self.destroy();
        if (added != .ok) return added;
        out.* = self;
        return .ok;
    }

    pub fn destroy(self: *Poller) void {
        _ = linux.close(self.epoll_fd);
        _ = linux.close(self.wake_fd);
        std.heap.c_allocator.destroy(self);
    }

    /// Watches `fd` for readability (and writability when asked), reporting `token`.
    /// `interest`: interest_writable adds writability; interest_reads_paused drops readability
    /// (a hang-up is still reported), so a peer whose input is not wanted now wakes nobody.
    pub fn add(self: *Poller, fd: i32, token: u32, interest: u32) Status {
        if (token == wake_token) return .invalid_argument;
        return self.control(linux.EPOLL.CTL_ADD, fd, token, interest);
    }

    pub fn modify(self: *Poller, fd: i32, token: u32, interest: u32) Status {
        if (token == wake_token) return .invalid_argument;
        return self.control(linux.EPOLL.CTL_MOD, fd, token, interest);
    }

    pub fn remove(self: *Poller, fd: i32) Status {
        const rc = linux.epoll_ctl(self.epoll_fd, linux.EPOLL.CTL_DEL, fd, null);
        if (syscallError(rc)) |err| return status_mod.fromErrno(err);
        return .ok;
    }

    /// Fills `events_out` with (token, flags) pairs; returns how many, or -status on failure.
    pub fn wait(self: *Poller, events_out: [*]u32, capacity: u32, timeout_ms: i32) c_int {
        var ready: [constants.poll_events_max]linux.epoll_event = undefined;
        const limit = @min(capacity, constants.poll_events_max);
        const rc = linux.epoll_wait(self.epoll_fd, &ready, limit, timeout_ms);
        if (syscallError(rc)) |err| {
            if (err == .INTR) return 0;
            return -status_mod.fromErrno(err).code();
        }
        var count: usize = 0;
        for (ready[0..rc]) |event| {
            if (event.data.u32 == wake_token) {
                self.drainWake();
                continue;
            }
            events_out[count * 2] = event.data.u32;
            events_out[count * 2 + 1] = translate(event.events);
            count += 1;
        }
        return @intCast(count);
    }

    /// Makes a blocked wait() return now (from any thread).
    pub fn wake(self: *Poller) Status {
        const one: u64 = 1;
        const rc = linux.write(self.wake_fd, std.mem.asBytes(&one), 8);
        const err = syscallError(rc) orelse return .ok;
        if (err == .AGAIN) return .ok; // the counter is already non-zero: a wake is pending
        return status_mod.fromErrno(err);
    }

    fn drainWake(self: *Poller) void {
        var value: u64 = 0;
        _ = linux.read(self.wake_fd, std.mem.asBytes(&value), 8);
    }

    fn control(self: *Poller, op: u32, fd: i32, token: u32, interest: u32) Status {
        if (interest & ~(interest_writable | interest_reads_paused) != 0) return .invalid_argument;
        const out_flag: u32 = if (interest & interest_writable != 0) linux.EPOLL.OUT else 0;
        const in_flag: u32 = if (interest & interest_reads_paused != 0) 0 else linux.EPOLL.IN;
        var event = linux.epoll_event{ .events = in_flag | linux.EPOLL.RDHUP | out_flag, .data = .{ .u32 = token } };
        const rc = linux.epoll_ctl(self.epoll_fd, op, fd, &event);
        if (syscallError(rc)) |err| return status_mod.fromErrno(err);
        return .ok;
    }
};

fn translate(events: u32) u32 {
    var flags: u32 = 0;
    if (events & linux.EPOLL.IN != 0) flags |= event_readable;
    if (events & linux.EPOLL.OUT != 0) flags |= event_writable;
    if (events & (linux.EPOLL.HUP | linux.EPOLL.RDHUP) != 0) flags |= event_hangup;
    if (events & linux.EPOLL.ERR != 0) flags |= event_error;
    return flags;
}

test "wait reports a readable fd with its token and a wake returns an empty wait" {
    var poller: *Poller = undefined;
    try std.testing.expectEqual(Status.ok, Poller.create(&poller));
    defer poller.destroy();
    var fds: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 0), linux.pipe2(&fds, .{ .CLOEXEC = true, .NONBLOCK = true }));
    defer _ = linux.close(fds[0]);
    defer _ = linux.close(fds[1]);
    try std.testing.expectEqual(Status.ok, poller.add(fds[0], 42, 0));
    var events: [8]u32 = undefined;
    try std.testing.expectEqual(@as(c_int, 0), poller.wait(&events, 4, 0));
    _ = linux.write(fds[1], "x", 1);
    try std.testing.expectEqual(@as(c_int, 1), poller.wait(&events, 4, 100));
    try std.testing.expectEqual(@as(u32, 42), events[0]);
    try std.testing.expectEqual(event_readable, events[1] & event_readable);
    try std.testing.expectEqual(Status.ok, poller.remove(fds[0]));
    try std.testing.expectEqual(Status.ok, poller.wake());
    try std.testing.expectEqual(@as(c_int, 0), poller.wait(&events, 4, 1000));
    try std.testing.expectEqual(Status.invalid_argument, poller.add(fds[0], wake_token, 0));
}

test "a paused fd reports no readability until resumed, but still reports a hang-up" {
    var poller: *Poller = undefined;
    try std.testing.expectEqual(Status.ok, Poller.create(&poller));
    defer poller.destroy();
    var fds: [2]i32 = undefined;
    try std.testing.expectEqual(@as(usize, 0), linux.socketpair(linux.AF.UNIX, linux.SOCK.STREAM | linux.SOCK.CLOEXEC, 0, &fds));
    defer _ = linux.close(fds[0]);
    try std.testing.expectEqual(Status.ok, poller.add(fds[0], 7, interest_reads_paused));
    _ = linux.write(fds[1], "x", 1);
    var events: [8]u32 = undefined;
    try std.testing.expectEqual(@as(c_int, 0), poller.wait(&events, 4, 0));
    try std.testing.expectEqual(Status.ok, poller.modify(fds[0], 7, 0));
    try std.testing.expectEqual(@as(c_int, 1), poller.wait(&events, 4, 0));
    try std.testing.expectEqual(event_readable, events[1] & event_readable);
    try std.testing.expectEqual(Status.ok, poller.modify(fds[0], 7, interest_reads_paused));
    _ = linux.close(fds[1]);
    try std.testing.expectEqual(@as(c_int, 1), poller.wait(&events, 4, 0));
    try std.testing.expectEqual(event_hangup, events[1] & event_hangup);
    try std.testing.expectEqual(Status.invalid_argument, poller.modify(fds[0], 7, 4));
}

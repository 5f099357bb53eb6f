//! Named limits of the native library. Relations between them are checked at comptime.
const std = @import("std");

/// Size of a frame header: cookie, type and payload length as little-endian int64s.
pub const frame_header_bytes: usize = 24;
/// Hard upper bound on any frame payload; a connection may set a smaller limit.
pub const frame_payload_bytes_max: u64 = 1 << 30;
/// Initial receive buffer per connection; it grows with a frame's bytes as they arrive, up to
/// header + the connection's limit.
pub const receive_buffer_bytes_initial: usize = 64 * 1024;
/// Bytes read per recvmsg call.
pub const receive_chunk_bytes: usize = 64 * 1024;
/// Unsent bytes a connection may queue before the peer counts as not reading.
pub const send_queue_bytes_max: usize = 256 * 1024 * 1024;
/// A send queue that grew past this gives its memory back once everything in it has been sent.
pub const send_queue_bytes_retained: usize = 64 * 1024;
/// fds received on one connection but not yet taken by the caller.
pub const received_fds_max: usize = 16;
/// fds queued for sending on one connection.
pub const queued_fds_max: usize = 4096;
/// Control buffer room: enough to see (and then close) a few surplus fds in one message.
pub const control_fds_max: usize = 8;
/// Mapped regions the address registry can describe.
pub const regions_max: usize = 65536;
/// Events returned by one wait.
pub const poll_events_max: u32 = 1024;
/// Longest Unix socket path (sun_path is 108 bytes including the terminating NUL).
pub const socket_path_bytes_max: usize = 107;

comptime {
    std.debug.assert(receive_buffer_bytes_initial >= frame_header_bytes);
    std.debug.assert(receive_chunk_bytes <= receive_buffer_bytes_initial);
    std.debug.assert(frame_payload_bytes_max < std.math.maxInt(u32) * 4);
    std.debug.assert(control_fds_max >= 2); // must be able to notice a second fd
}

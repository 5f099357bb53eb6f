//! Builds the native library (zig-out/lib/libplasma.so), its unit tests and the native benchmarks.
//! `zig build` installs the library; `zig build test` runs every Zig test.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    // ReleaseSafe by default: bounds and overflow checks stay on in the store's native core.
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Optimization mode") orelse .ReleaseSafe;

    const lib_module = b.createModule(.{
        .root_source_file = b.path("ffi/zig/lib.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    const lib = b.addLibrary(.{ .linkage = .dynamic, .name = "plasma", .root_module = lib_module });
    b.installArtifact(lib);

    // The test binary is installed too, so the test script can run it and read its counts.
    const tests = b.addTest(.{ .root_module = lib_module });
    const install_tests = b.addInstallArtifact(tests, .{ .dest_dir = .{ .override = .{ .custom = "test" } }, .dest_sub_path = "plasma-zig-tests" });
    const test_step = b.step("test", "Build the Zig unit tests into zig-out/test");
    test_step.dependOn(&install_tests.step);
    // `zig build fuzz --fuzz`: Zig's coverage-guided fuzzer on the tests that call std.testing.fuzz
    // (without --fuzz it runs them once, like the test binary does).
    const fuzz_step = b.step("fuzz", "Run the Zig tests, fuzzing with --fuzz");
    fuzz_step.dependOn(&b.addRunArtifact(tests).step);

    addBenchmarks(b, target);
}

fn addBenchmarks(b: *std.Build, target: std.Build.ResolvedTarget) void {
    const bench_step = b.step("bench", "Build the native benchmarks into zig-out/bench");
    const allocator_module = b.createModule(.{ .root_source_file = b.path("ffi/zig/allocator.zig"), .target = target, .optimize = .ReleaseFast });
    const allocator_bench = b.addExecutable(.{
        .name = "allocator_bench",
        .root_module = b.createModule(.{ .root_source_file = b.path("bench/allocator_bench.zig"), .target = target, .optimize = .ReleaseFast }),
    });
    allocator_bench.root_module.addImport("allocator", allocator_module);
    const install = b.addInstallArtifact(allocator_bench, .{ .dest_dir = .{ .override = .{ .custom = "bench" } } });
    bench_step.dependOn(&install.step);

    // The raw socket round trip without the library: the ceiling for the TypeScript layer.
    const pingpong_native = b.addExecutable(.{
        .name = "pingpong_native",
        .root_module = b.createModule(.{ .root_source_file = b.path("bench/pingpong_native.zig"), .target = target, .optimize = .ReleaseFast }),
    });
    const install_pingpong = b.addInstallArtifact(pingpong_native, .{ .dest_dir = .{ .override = .{ .custom = "bench" } } });
    bench_step.dependOn(&install_pingpong.step);
}

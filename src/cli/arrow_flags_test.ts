import assert from "node:assert/strict";
import { parseArrowFlags } from "./arrow_flags.ts";
import { FlagError, type StoreConfig } from "./store_flags.ts";

function config(args: string[]): StoreConfig {
  const result = parseArrowFlags(args);
  assert.equal(result.kind, "config");
  return (result as { kind: "config"; config: StoreConfig }).config;
}

function assertRefused(args: string[], pattern: RegExp): void {
  assert.throws(() => parseArrowFlags(args), (error: unknown) => {
    assert.ok(error instanceof FlagError, `expected a FlagError, got ${error}`);
    assert.ok(!error.message.includes("\n"));
    assert.match(error.message, pattern);
    return true;
  }, JSON.stringify(args));
}

Deno.test("parseArrowFlags() reads pyarrow's command line with Arrow's semantics", () => {
  assert.deepEqual(config(["-s", "/tmp/p.sock", "-m", "100000000"]), {
    socketPath: "/tmp/p.sock",
    memoryBytes: 100_000_000,
    plasmaDirectory: "/dev/shm",
    populate: false,
    hugepages: false,
    spillDirectory: "",
    fallbackDirectory: "",
    noFallback: true,
    fullDelayMs: 10,
    metricsAddress: "",
    oomGraceMs: 0,
    clientMemoryBytes: 0,
    socketMode: 0o600,
    allowUids: [],
    allowGids: [],
    clusterUrl: "",
    nodeAddress: "",
    nodeId: "",
    clusterSecretFile: "",
  });
  assert.equal((parseArrowFlags(["-s", "/tmp/p.sock", "-m", "100"]) as { externalStore: string }).externalStore, "");
  const withAll = config(["-s", "/tmp/p.sock", "-m", "10000", "-d", "/mnt/huge", "-h"]);
  assert.equal(withAll.memoryBytes, 10_000);
  assert.equal(withAll.plasmaDirectory, "/mnt/huge");
  assert.equal(withAll.hugepages, true);
});

Deno.test("parseArrowFlags() takes Arrow's hashtable:// external store (the store then spills)", () => {
  const result = parseArrowFlags(["-s", "/x", "-m", "1000", "-e", "hashtable://test"]);
  assert.equal(result.kind, "config");
  assert.equal((result as { externalStore: string }).externalStore, "hashtable://test");
  assert.equal((parseArrowFlags(["-s", "/x", "-m", "1000"]) as { externalStore: string }).externalStore, "");
});

Deno.test("parseArrowFlags() accepts gflags' spellings: -m=N, --m=N, --m N", () => {
  for (const args of [["-m=42", "-s=/x"], ["--m=42", "--s=/x"], ["--m", "42", "--s", "/x"]]) {
    assert.equal(config(args).memoryBytes, 42);
    assert.equal(config(args).socketPath, "/x");
  }
});

Deno.test("parseArrowFlags() refuses what Arrow's server refuses, in one line", () => {
  assertRefused([], /specify socket .* with -s, and the amount of memory/);
  assertRefused(["-m", "100"], /specify socket/);
  assertRefused(["-s", "/x"], /amount of memory/);
  assertRefused(["-s", "/x", "-m", "1GiB"], /no letter suffix/);
  assertRefused(["-s", "/x", "-m", "0"], /not a usable size/);
  assertRefused(["-s", "/x", "-m"], /-m needs a value/);
  assertRefused(["-s", "/x", "-m", "100", "-e", "redis://host"], /no such external store "redis"/);
  assertRefused(["-s", "/x", "-m", "100", "-z"], /unknown flag -z/);
  assertRefused(["-s", "/x", "-m", "100", "stray"], /unexpected argument "stray"/);
  assertRefused(["-s", "/".repeat(108), "-m", "100"], /longer than 107 bytes/);
  assert.equal(parseArrowFlags(["--help"]).kind, "help");
});

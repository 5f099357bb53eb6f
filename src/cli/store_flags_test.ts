import assert from "node:assert/strict";
import {
  FlagError,
  type FlagSpec,
  MEMORY_BYTES_MIN,
  parseFlags,
  parseStoreFlags,
  SOCKET_PATH_BYTES_MAX,
  STORE_FLAGS,
  type StoreConfig,
  storeHelpText,
} from "./store_flags.ts";

const REQUIRED = ["--socket", "/tmp/plasma.sock", "--memory", "1GiB"];

function config(args: string[]): StoreConfig {
  const result = parseStoreFlags(args);
  assert.equal(result.kind, "config");
  return (result as { kind: "config"; config: StoreConfig }).config;
}

/** Asserts `args` is refused with a one-line FlagError whose message matches `pattern`. */
function assertRefused(args: string[], pattern: RegExp): void {
  assert.throws(
    () => parseStoreFlags(args),
    (error: unknown) => {
      assert.ok(error instanceof FlagError, `expected a FlagError, got ${error}`);
      assert.ok(error instanceof Error);
      assert.equal(error.name, "FlagError");
      assert.ok(!error.message.includes("\n"), `message has one line: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    },
    JSON.stringify(args),
  );
}

Deno.test("parseStoreFlags() fills defaults when only the required flags are given", () => {
  assert.deepEqual(config(REQUIRED), {
    socketPath: "/tmp/plasma.sock",
    memoryBytes: 1024 ** 3,
    plasmaDirectory: "/dev/shm",
    populate: false,
    hugepages: false,
    spillDirectory: "",
    fallbackDirectory: "",
    noFallback: false,
    fullDelayMs: 10,
    metricsAddress: "",
    oomGraceMs: 2000,
    clientMemoryBytes: 0,
    socketMode: 0o600,
    allowUids: [],
    allowGids: [],
    clusterUrl: "",
    nodeAddress: "",
    nodeId: "",
    clusterSecretFile: "",
  });
});

Deno.test("parseStoreFlags() reads every flag, in any order, with spaces or =", () => {
  assert.deepEqual(
    config([
      "--hugepages",
      "--memory=1.5 GiB",
      "--plasma-directory",
      "/mnt/huge",
      "--populate",
      "--socket=/run/plasma/store.sock",
      "--spill-directory=/var/spill",
      "--fallback-directory",
      "/var/fallback",
      "--no-fallback",
      "--full-delay-ms",
      "5",
      "--oom-grace-ms=0",
      "--client-memory=512MiB",
      "--socket-mode=0o660",
      "--allow-uid",
      "1000,1001",
      "--allow-gid=50",
      "--cluster=redis://127.0.0.1:6379",
      "--node-address",
      "127.0.0.1:7001",
      "--node-id=n1",
      "--cluster-secret-file",
      "/etc/plasma/secret",
      "--metrics-address",
      "127.0.0.1:9100",
    ]),
    {
      socketPath: "/run/plasma/store.sock",
      memoryBytes: 1.5 * 1024 ** 3,
      plasmaDirectory: "/mnt/huge",
      populate: true,
      hugepages: true,
      spillDirectory: "/var/spill",
      fallbackDirectory: "/var/fallback",
      noFallback: true,
      fullDelayMs: 5,
      metricsAddress: "127.0.0.1:9100",
      oomGraceMs: 0,
      clientMemoryBytes: 512 * 1024 ** 2,
      socketMode: 0o660,
      allowUids: [1000, 1001],
      allowGids: [50],
      clusterUrl: "redis://127.0.0.1:6379",
      nodeAddress: "127.0.0.1:7001",
      nodeId: "n1",
      clusterSecretFile: "/etc/plasma/secret",
    },
  );
});

Deno.test("parseStoreFlags() accepts a relative socket path and plain-byte memory", () => {
  const parsed = config(["--socket", "store.sock", "--memory", String(MEMORY_BYTES_MIN)]);
  assert.equal(parsed.socketPath, "store.sock");
  assert.equal(parsed.memoryBytes, MEMORY_BYTES_MIN);
});

Deno.test("parseStoreFlags() returns help for --help or -h, even beside bad flags", () => {
  for (const args of [["--help"], ["-h"], [...REQUIRED, "--help"], ["--bogus", "-h"], ["--memory", "x", "--help"]]) {
    const result = parseStoreFlags(args);
    assert.equal(result.kind, "help", JSON.stringify(args));
    assert.equal((result as { text: string }).text, storeHelpText());
  }
});

Deno.test("parseStoreFlags() refuses unknown flags, naming them", () => {
  assertRefused([...REQUIRED, "--bogus"], /^unknown flag --bogus$/);
  assertRefused([...REQUIRED, "-x"], /^unknown flag -x/);
  assertRefused([...REQUIRED, "--spill-dir", "/tmp"], /^unknown flag --spill-dir/);
  assertRefused([...REQUIRED, "--full-delay-ms", "0"], /--full-delay-ms takes a whole number from 1 to 60000/);
  assertRefused([...REQUIRED, "--oom-grace-ms", "2s"], /--oom-grace-ms takes a whole number/);
  assertRefused([...REQUIRED, "--spill-directory="], /--spill-directory must not be empty/);
  assertRefused([...REQUIRED, "--Socket", "/x"], /^unknown flag --Socket/);
  assertRefused([...REQUIRED, "--no-populate"], /^unknown flag --no-populate/);
});

Deno.test("parseStoreFlags() refuses a value flag without its value", () => {
  assertRefused(["--memory", "1G", "--socket"], /^--socket needs a value: --socket PATH$/);
  assertRefused(["--socket", "/tmp/s", "--memory"], /^--memory needs a value: --memory SIZE$/);
  assertRefused([...REQUIRED, "--plasma-directory"], /^--plasma-directory needs a value/);
});

Deno.test("parseStoreFlags() refuses to take the next flag as a value", () => {
  assertRefused(["--socket", "--memory", "1G"], /^--socket needs a value/);
  assertRefused(["--socket", "/tmp/s", "--memory", "--populate"], /^--memory needs a value/);
});

Deno.test("parseStoreFlags() refuses a value given to a boolean flag", () => {
  assertRefused([...REQUIRED, "--populate=yes"], /^--populate takes no value, got "yes"$/);
  assertRefused([...REQUIRED, "--hugepages=false"], /^--hugepages takes no value/);
});

Deno.test("parseStoreFlags() refuses a flag given twice", () => {
  assertRefused([...REQUIRED, "--memory", "2G"], /^--memory is given more than once$/);
  assertRefused([...REQUIRED, "--populate", "--populate"], /^--populate is given more than once$/);
});

Deno.test("parseStoreFlags() refuses positional arguments, also after --", () => {
  assertRefused([...REQUIRED, "extra"], /^unexpected argument "extra"/);
  assertRefused(["/tmp/s", ...REQUIRED], /^unexpected argument "\/tmp\/s"/);
  assertRefused([...REQUIRED, "--", "--populate"], /^unexpected argument "--populate"/);
});

Deno.test("parseStoreFlags() refuses a command line without --socket or --memory", () => {
  assertRefused([], /^missing required --socket PATH/);
  assertRefused(["--memory", "1G"], /^missing required --socket PATH$/);
  assertRefused(["--socket", "/tmp/s"], /^missing required --memory SIZE$/);
  assertRefused(["--populate", "--hugepages"], /^missing required --socket/);
});

Deno.test("parseStoreFlags() refuses a bad --memory size with the size error", () => {
  assertRefused(["--socket", "/tmp/s", "--memory", "lots"], /^--memory: Invalid size "lots"/);
  assertRefused(["--socket", "/tmp/s", "--memory=-1G"], /^--memory: Invalid size "-1G"/);
  assertRefused(["--socket", "/tmp/s", "--memory", "1PB"], /^--memory: .*unknown unit "PB"/);
  assertRefused(["--socket", "/tmp/s", "--memory", "9999999TiB"], /^--memory: .*larger than/);
  assertRefused(["--socket", "/tmp/s", "--memory="], /^--memory: Invalid size ""/);
});

Deno.test("parseStoreFlags() refuses --memory below 1 MiB and accepts exactly 1 MiB", () => {
  assertRefused(["--socket", "/tmp/s", "--memory", "1048575"], /^--memory 1048575 is 1\.0 MiB, below the minimum/);
  assertRefused(
    ["--socket", "/tmp/s", "--memory", "512KiB"],
    /^--memory 512KiB is 512\.0 KiB, below the minimum of 1\.0 MiB$/,
  );
  assertRefused(["--socket", "/tmp/s", "--memory", "0"], /below the minimum/);
  assert.equal(config(["--socket", "/tmp/s", "--memory", "1MiB"]).memoryBytes, MEMORY_BYTES_MIN);
});

Deno.test("parseStoreFlags() refuses a socket path over 107 bytes, counting UTF-8 bytes", () => {
  const longest = "/tmp/" + "s".repeat(SOCKET_PATH_BYTES_MAX - 5);
  assert.equal(config(["--socket", longest, "--memory", "1G"]).socketPath, longest);
  assertRefused(["--socket", longest + "s", "--memory", "1G"], /^--socket is 108 bytes long; the limit is 107/);
  // 53 two-byte characters: 106 UTF-16 units but 5 + 106 = 111 bytes.
  assertRefused(["--socket", "/tmp/" + "é".repeat(53), "--memory", "1G"], /^--socket is 111 bytes long/);
});

Deno.test("parseStoreFlags() refuses empty paths and paths with NUL bytes", () => {
  assertRefused(["--socket=", "--memory", "1G"], /^--socket must not be empty$/);
  assertRefused([...REQUIRED, "--plasma-directory="], /^--plasma-directory must not be empty$/);
  assertRefused(["--socket", "/tmp/a\0b", "--memory", "1G"], /^--socket must not contain NUL bytes$/);
});

Deno.test("storeHelpText() starts with a usage line naming the required flags", () => {
  const [usage] = storeHelpText().split("\n");
  assert.equal(usage, "Usage: deno run -A store.ts --socket PATH --memory SIZE [options]");
});

Deno.test("storeHelpText() lists every flag in the table on its own line with its default", () => {
  const lines = storeHelpText().split("\n");
  for (const flag of STORE_FLAGS) {
    const matching = lines.filter((line) => line.trimStart().startsWith(`--${flag.name} `));
    assert.equal(matching.length, 1, `one line for --${flag.name}`);
    assert.ok(matching[0].includes(flag.description), `--${flag.name} shows its description`);
    assert.match(matching[0], /\((default: .+|required)\)$/, `--${flag.name} shows its default`);
  }
  assert.ok(lines.some((line) => line.includes("--plasma-directory DIR") && line.endsWith("(default: /dev/shm)")));
  assert.ok(lines.some((line) => line.includes("--populate") && line.endsWith("(default: off)")));
  assert.ok(lines.some((line) => line.includes("--socket PATH") && line.endsWith("(required)")));
  assert.ok(lines.some((line) => line.trimStart().startsWith("--help, -h")));
});

Deno.test("a flag added to a table is parsed and shown in help without other changes", () => {
  const table: FlagSpec[] = [
    ...STORE_FLAGS,
    {
      name: "extra-directory",
      type: "string",
      key: "plasmaDirectory",
      valueName: "DIR",
      default: "/var/tmp",
      description: "made up for this test",
    },
  ];
  const help = parseFlags(["--help"], table);
  assert.equal(help.kind, "help");
  assert.match((help as { text: string }).text, /--extra-directory DIR +made up for this test \(default: \/var\/tmp\)/);
  const parsed = parseFlags([...REQUIRED, "--extra-directory", "/x"], table);
  assert.equal(parsed.kind, "config");
  assert.equal((parsed as { config: StoreConfig }).config.plasmaDirectory, "/x");
});

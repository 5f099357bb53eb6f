/** The store's command line as a user meets it: flags, start-up line, refusals, clean shutdown. */
import assert from "node:assert/strict";
import { listenUnix } from "../ffi/unix_socket.ts";
import { closeFd } from "../ffi/shared_memory.ts";
import { REPO, spawnStore } from "./_store_fixture.ts";

async function runStore(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${REPO}store.ts`, ...args] }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

Deno.test("every bad flag gets a one-line error and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--memory", "64MiB"], /--socket/],
    [["--socket", "/tmp/x.sock"], /--memory/],
    [["--socket", "/tmp/x.sock", "--memory", "12XB"], /unit|size/i],
    [["--socket", "/tmp/x.sock", "--memory", "64MiB", "--bogus"], /bogus/],
    [["--socket", "/tmp/x.sock", "--memory", "100"], /1 MiB|1\.0 MiB|at least/i],
    [["--socket", `/tmp/${"x".repeat(120)}.sock`, "--memory", "64MiB"], /107/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await runStore(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stderr.trim().split("\n").length, 1, `one line for ${args.join(" ")}: ${stderr}`);
    assert.match(stderr, pattern);
  }
});

Deno.test("a missing spill directory is refused at start-up with exit 1", async () => {
  const { code, stderr } = await runStore([
    "--socket",
    "/tmp/unused-plasma.sock",
    "--memory",
    "16MiB",
    "--spill-directory",
    "/nonexistent/spill",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /--spill-directory \/nonexistent\/spill does not exist/);
});

Deno.test("--help lists every flag with its default and exits 0", async () => {
  const { code, stdout } = await runStore(["--help"]);
  assert.equal(code, 0);
  const flags = ["--socket", "--memory", "--plasma-directory", "--populate", "--hugepages", "--spill-directory"];
  for (
    const flag of [...flags, "--fallback-directory", "--no-fallback", "--full-delay-ms", "--oom-grace-ms", "--help"]
  ) {
    assert.match(stdout, new RegExp(flag));
  }
  assert.match(stdout, /\/dev\/shm/);
});

Deno.test("the store prints one start-up line and SIGTERM stops it with exit 0, removing the socket", async () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const store = await spawnStore(["--memory", "32MiB"]);
    await Deno.stat(store.socketPath);
    const started = performance.now();
    const { code, output } = await store.stop(signal);
    assert.equal(code, 0, output);
    assert.ok(performance.now() - started < 5_000);
    assert.match(output, /listening on .*store\.sock, capacity 32\.0 MiB, directory \/dev\/shm/);
    await assert.rejects(Deno.stat(store.socketPath), Deno.errors.NotFound);
  }
});

Deno.test("a socket path owned by a live store is refused; a stale one is replaced", async () => {
  const directory = await Deno.makeTempDir();
  const socketPath = `${directory}/live.sock`;
  const listenFd = listenUnix(socketPath);
  try {
    const refused = await runStore(["--socket", socketPath, "--memory", "16MiB"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /another store is listening/);
  } finally {
    closeFd(listenFd);
  }
  const stale = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}store.ts`, "--socket", socketPath, "--memory", "16MiB"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = stale.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /listening on/);
    await reader.cancel();
  } finally {
    stale.kill("SIGTERM");
    const { code } = await stale.status;
    const stderr = await new Response(stale.stderr).text();
    await Deno.remove(directory, { recursive: true });
    assert.equal(code, 0);
    assert.match(stderr, /replaced a stale socket/);
  }
});

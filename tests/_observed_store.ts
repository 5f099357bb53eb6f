/**
 * Test fixture: a store process started with `--metrics-address 127.0.0.1:0` (store.ts or
 * bin/plasma-store-server), ready once it printed where its metrics are; always stopped by the caller.
 */
import { readUntil, REPO } from "./_store_fixture.ts";

export interface ObservedStore {
  socketPath: string;
  directory: string;
  /** `http://127.0.0.1:PORT` of the metrics endpoint. */
  origin: string;
  /** SIGTERM, wait, remove the directory; the exit code and everything printed. */
  stop(): Promise<{ code: number; output: string }>;
}

/** Starts a store whose metrics listen on a free port; `kind` picks the launcher. */
export async function startObservedStore(
  kind: "store.ts" | "plasma-store-server" = "store.ts",
): Promise<ObservedStore> {
  const directory = await Deno.makeTempDir({ prefix: "plasma-observed-" });
  const socketPath = `${directory}/store.sock`;
  const [command, args] = kind === "store.ts"
    ? [Deno.execPath(), ["run", "-A", `${REPO}store.ts`, "--socket", socketPath, "--memory", "64MiB"]]
    : [`${REPO}bin/plasma-store-server`, ["-s", socketPath, "-m", String(64 * 1024 * 1024)]];
  const child = new Deno.Command(command, {
    args: [...args, "--metrics-address", "127.0.0.1:0"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = await readUntil(reader, "listening on") ?? "";
  if (!output.includes("listening on")) {
    await child.status;
    const stderr = await new Response(child.stderr).text();
    await Deno.remove(directory, { recursive: true });
    throw new Error(`store exited before listening: ${stderr}`);
  }
  const origin = /metrics on (http:\/\/[^/]+)\/metrics/.exec(output)?.[1];
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += chunk.value;
    const status = await child.status;
    output += await new Response(child.stderr).text();
    await Deno.remove(directory, { recursive: true }).catch(() => {});
    return { code: status.code, output };
  };
  if (origin === undefined) {
    await stop();
    throw new Error(`the store did not say where its metrics are: ${output}`);
  }
  return { socketPath, directory, origin, stop };
}

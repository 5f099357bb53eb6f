/**
 * Test and bench fixture: a flooder process (tests/fixtures/flooder.ts) that pipelines requests
 * at a store, started and awaited until it says "started"; the caller stops it by pid.
 */
import { readUntil, REPO } from "./_store_fixture.ts";

/** A running flooder and the rest of its output. */
export interface Flooder {
  child: Deno.ChildProcess;
  lines: ReadableStreamDefaultReader<string>;
}

/**
 * Starts a flooder that sends `count` requests (0: until stopped) and reads its replies or not.
 * @param stderr where its error output goes ("null" keeps a benchmark's output clean)
 * @param nice the flooder's CPU niceness (0: the same as ours; a benchmark raises it to tell the
 *   store's fairness from the OS scheduler's when flooders and store share the CPUs)
 */
export async function startFlooder(
  socketPath: string,
  mode: "read" | "noread",
  count = 0,
  stderr: "inherit" | "null" = "inherit",
  nice = 0,
): Promise<Flooder> {
  const child = new Deno.Command("nice", {
    args: [
      "-n",
      String(nice),
      Deno.execPath(),
      "run",
      "-A",
      `--config=${REPO}deno.json`,
      `${REPO}tests/fixtures/flooder.ts`,
      socketPath,
      mode,
      String(count),
    ],
    stdout: "piped",
    stderr,
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  if (await readUntil(lines, "started") === null) throw new Error("flooder ended before starting");
  return { child, lines };
}

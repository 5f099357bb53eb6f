/**
 * Runs Debian's Chromium headless on a page, for the dashboard test and the screenshot script:
 * a fresh profile each run, no network besides the page, and the flags that keep it quiet in a
 * container. The profile directory is always removed.
 * @module
 */

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** How much virtual time the page gets to poll its data before the DOM or the screenshot is taken. */
const VIRTUAL_TIME_BUDGET_MS = 3000;

const QUIET_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--virtual-time-budget=${VIRTUAL_TIME_BUDGET_MS}`,
];

/** Runs Chromium on `url` with `extra` flags; returns its stdout. */
async function runChromium(url: string, extra: string[]): Promise<string> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: run tools/observability_deps.sh (Debian's chromium package)`);
  }
  const profile = await Deno.makeTempDir({ prefix: "plasma-chromium-" });
  try {
    const output = await new Deno.Command(CHROMIUM, {
      args: [...QUIET_FLAGS, `--user-data-dir=${profile}`, ...extra, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`chromium failed (${output.code}): ${new TextDecoder().decode(output.stderr).slice(-2000)}`);
    }
    return new TextDecoder().decode(output.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The page's DOM after its scripts ran for the virtual time budget. */
export function dumpDom(url: string): Promise<string> {
  return runChromium(url, ["--dump-dom"]);
}

/** Saves a PNG screenshot of the page at `width`x`height` to `path`. */
export async function screenshot(url: string, path: string, width = 1200, height = 800): Promise<void> {
  await runChromium(url, [`--screenshot=${path}`, `--window-size=${width},${height}`, "--hide-scrollbars"]);
}

/**
 * Spill files carry the name of the store instance that wrote them
 * (`plasma-spill-PID-START-TOKEN-UUID.bin`, START being the process's start time from /proc), so a
 * store tells its own files, a live store's files and a dead store's files apart.
 * Invariant: a file whose writing process is still alive is never removed by another store.
 * @module
 */

/** Every spill file's name starts with this. */
export const SPILL_FILE_PREFIX = "plasma-spill-";
const SPILL_FILE_NAME = /^plasma-spill-(\d+)-(\d+)-[0-9a-f]+-[0-9a-f-]+\.bin$/;

/** The start time of process `pid` in clock ticks since boot, or null when no such process runs. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]); // field 22, starttime
  } catch {
    return null;
  }
}

/** A name for one store instance's spill files: this process, its start time, a random token. */
export function newSpillInstance(): string {
  const token = [...crypto.getRandomValues(new Uint8Array(4))].map((byte) => byte.toString(16).padStart(2, "0"));
  return `${Deno.pid}-${processStartTicks(Deno.pid) ?? 0}-${token.join("")}`;
}

/** A fresh spill file path in `directory` for `instance`. */
export function newSpillFilePath(directory: string, instance: string): string {
  return `${directory}/${SPILL_FILE_PREFIX}${instance}-${crypto.randomUUID()}.bin`;
}

/** Whether the store that wrote the spill file `name` is gone; false for other files. */
export function writerIsDead(name: string): boolean {
  const match = SPILL_FILE_NAME.exec(name);
  if (match === null) return false;
  const startTicks = processStartTicks(Number(match[1]));
  // A pid reused by a later process has another start time.
  return startTicks === null || startTicks !== Number(match[2]);
}

/**
 * Removes the spill files of stores that are no longer running (killed before they could clean
 * up). Returns the paths removed; a directory that does not exist has none.
 */
export function removeDeadSpillFiles(directory: string): string[] {
  const removed: string[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(directory);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return removed;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile || !writerIsDead(entry.name)) continue;
    try {
      Deno.removeSync(`${directory}/${entry.name}`);
      removed.push(`${directory}/${entry.name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return removed;
}

/**
 * Progress of a long transfer on a terminal: one line on stderr redrawn in place at most every
 * 100 ms, and nothing at all when stderr is not a terminal (piped output stays clean).
 * @module
 */
import { humanBytes, humanRate, percent } from "./format.ts";

/** How often the progress line is redrawn at most. */
const REDRAW_INTERVAL_MS = 100;

/** Where progress lines go; a terminal's stderr in real use. */
export interface ProgressSink {
  isTerminal(): boolean;
  writeSync(bytes: Uint8Array): number;
}

/** A progress line for moving `totalBytes` bytes, labelled e.g. `put data.bin`. */
export class Progress {
  readonly #label: string;
  readonly #totalBytes: number;
  readonly #sink: ProgressSink | null;
  readonly #startedMs = performance.now();
  #drawnMs = -Infinity;
  #encoder = new TextEncoder();

  /**
   * @param label what is moving, shown first
   * @param totalBytes how many bytes will move
   * @param sink where the line goes (stderr by default); ignored unless it is a terminal
   */
  constructor(label: string, totalBytes: number, sink: ProgressSink = Deno.stderr) {
    this.#label = label;
    this.#totalBytes = totalBytes;
    this.#sink = sink.isTerminal() ? sink : null;
  }

  /** Reports that `doneBytes` of the total have moved (redraws when due). */
  update(doneBytes: number): void {
    const nowMs = performance.now();
    if (this.#sink === null || nowMs - this.#drawnMs < REDRAW_INTERVAL_MS) return;
    this.#drawnMs = nowMs;
    this.#draw(doneBytes, nowMs);
  }

  /** Draws the final state and ends the line. */
  finish(doneBytes: number): void {
    if (this.#sink === null) return;
    this.#draw(doneBytes, performance.now());
    this.#sink.writeSync(this.#encoder.encode("\n"));
  }

  #draw(doneBytes: number, nowMs: number): void {
    const elapsedS = Math.max(nowMs - this.#startedMs, 1) / 1000;
    const line = `${this.#label}  ${humanBytes(doneBytes)} of ${humanBytes(this.#totalBytes)} (${
      percent(doneBytes, this.#totalBytes)
    })  ${humanRate(doneBytes / elapsedS, "bytes")}`;
    // \r returns to the line start; \x1b[K clears what a longer previous line left.
    this.#sink!.writeSync(this.#encoder.encode(`\r${line}\x1b[K`));
  }
}

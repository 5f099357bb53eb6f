/**
 * Log lines for client-caused errors, rate-limited per kind so no client can flood the store's
 * log: each kind prints at most LINES_PER_WINDOW lines per window, then one line saying how
 * many were suppressed once the window ends. Invariant: printed + suppressed = lines asked for.
 * @module
 */

/** Lines of one kind printed per window at most. */
export const LOG_LINES_PER_WINDOW = 10;
/** Length of a window. */
export const LOG_WINDOW_MS = 10_000;

interface KindState {
  windowStartMs: number;
  printed: number;
  suppressed: number;
}

/** Options of {@linkcode RateLimitedLog}: where lines go and what time it is (for tests). */
export interface RateLimitedLogOptions {
  write?: (line: string) => void;
  nowMs?: () => number;
  linesPerWindow?: number;
  windowMs?: number;
}

/**
 * A rate-limited log.
 * @example
 * ```ts
 * const log = new RateLimitedLog();
 * log.line("malformed-frame", "plasma store: closing a client's connection: bad frame");
 * ```
 */
export class RateLimitedLog {
  readonly #kinds = new Map<string, KindState>();
  readonly #write: (line: string) => void;
  readonly #nowMs: () => number;
  readonly #linesPerWindow: number;
  readonly #windowMs: number;
  /** Lines asked for and not printed, over the log's life. */
  suppressedTotal = 0;

  constructor(options: RateLimitedLogOptions = {}) {
    this.#write = options.write ?? ((line) => console.error(line));
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#linesPerWindow = options.linesPerWindow ?? LOG_LINES_PER_WINDOW;
    this.#windowMs = options.windowMs ?? LOG_WINDOW_MS;
  }

  /** Prints `text` unless lines of this `kind` already used up the current window. */
  line(kind: string, text: string): void {
    const state = this.#stateOf(kind);
    if (state.printed < this.#linesPerWindow) {
      state.printed++;
      this.#write(text);
      return;
    }
    state.suppressed++;
    this.suppressedTotal++;
  }

  /** The state of `kind`, with a new window begun (and the last one's suppressions told) if it ended. */
  #stateOf(kind: string): KindState {
    const now = this.#nowMs();
    const state = this.#kinds.get(kind);
    if (state === undefined) {
      const fresh = { windowStartMs: now, printed: 0, suppressed: 0 };
      this.#kinds.set(kind, fresh);
      return fresh;
    }
    if (now - state.windowStartMs < this.#windowMs) return state;
    if (state.suppressed > 0) {
      this.#write(`plasma store: ${state.suppressed} more "${kind}" lines suppressed in the last ${this.#windowMs} ms`);
    }
    state.windowStartMs = now;
    state.printed = 0;
    state.suppressed = 0;
    return state;
  }
}

/** The store's log for client-caused errors (one per thread: the store runs in one Worker). */
export const clientErrorLog: RateLimitedLog = new RateLimitedLog();

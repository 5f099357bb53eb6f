/**
 * The store loop's waiting strategy from the environment, for benchmarks that compare strategies
 * in one run: PLASMA_LOOP_WAIT="strategy[,spinMicros[,blockMs]]" (e.g. "block,0,2"). Invariant: a
 * malformed value is an error at start, never a silently different loop.
 * @module
 */
import { type EventLoopOptions, WAIT_STRATEGIES, type WaitStrategy } from "./event_loop.ts";

/** The variable's name. */
export const LOOP_WAIT_VARIABLE = "PLASMA_LOOP_WAIT";

/** Parses "strategy[,spinMicros[,blockMs]]"; throws RangeError naming the bad part. */
export function parseLoopWait(text: string): EventLoopOptions {
  const [strategy, spin, block] = text.split(",");
  if (!WAIT_STRATEGIES.includes(strategy as WaitStrategy)) {
    throw new RangeError(`${LOOP_WAIT_VARIABLE}: unknown strategy "${strategy}" (${WAIT_STRATEGIES.join(", ")})`);
  }
  const options: EventLoopOptions = { strategy: strategy as WaitStrategy };
  if (spin !== undefined) options.spinMicros = nonNegative(spin, "spinMicros");
  // A wait on the loop's thread is whole milliseconds (epoll's unit; a fraction stopped the store).
  if (block !== undefined) options.blockMs = wholeMs(nonNegative(block, "blockMs"), "blockMs");
  return options;
}

/** The options the environment asks for, or an empty object when the variable is unset. */
export function loopWaitFromEnvironment(): EventLoopOptions {
  let text: string | undefined;
  try {
    text = Deno.env.get(LOOP_WAIT_VARIABLE);
  } catch {
    return {}; // no env permission: the defaults
  }
  return text === undefined || text === "" ? {} : parseLoopWait(text);
}

function wholeMs(value: number, name: string): number {
  if (!Number.isInteger(value)) {
    throw new RangeError(`${LOOP_WAIT_VARIABLE}: ${name} must be whole milliseconds, got ${value}`);
  }
  return value;
}

function nonNegative(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${LOOP_WAIT_VARIABLE}: ${name} must be a number >= 0, got "${text}"`);
  }
  return value;
}

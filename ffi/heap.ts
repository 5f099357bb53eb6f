/**
 * The process's C heap (glibc malloc): V8's array buffers, Deno and the native library allocate
 * there, and pages freed in the middle of an arena stay resident until they are trimmed.
 * @module
 */
import { native } from "./library.ts";

/** Returns the free pages of every thread's C-heap arena to the kernel; true when any were released. */
export function trimNativeHeap(): boolean {
  return native().plasma_heap_trim() === 1;
}

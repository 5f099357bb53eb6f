/**
 * Loads the native library once per isolate: `PLASMA_NATIVE_LIB` if set, else the build output
 * beside this checkout (`zig-out/lib/libplasma.so`), else an error that says how to build it.
 * @module
 */
import { type NativeSymbols, SYMBOLS } from "./symbols.ts";

/** Environment variable naming the native library to load instead of the build output. */
export const NATIVE_LIBRARY_ENV = "PLASMA_NATIVE_LIB";

let loaded: NativeSymbols | undefined;

/** The path the library is loaded from: the env override or the repository's zig-out. */
export function nativeLibraryPath(): string {
  const override = Deno.env.get(NATIVE_LIBRARY_ENV);
  if (override) return override;
  const url = new URL("../zig-out/lib/libplasma.so", import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(
      `The native library cannot be loaded from ${url.href}: build it (zig build) and set ${NATIVE_LIBRARY_ENV} to its path`,
    );
  }
  return decodeURIComponent(url.pathname);
}

/**
 * The native symbols, loading the library on first use.
 * @throws {Error} when the library is missing, with the command that builds it
 */
export function native(): NativeSymbols {
  if (loaded) return loaded;
  const path = nativeLibraryPath();
  try {
    loaded = openLibrary(path);
  } catch (cause) {
    throw new Error(
      `Cannot load the native library at ${path}: run \`zig build\` in the repository (or scripts/build.sh), ` +
        `or set ${NATIVE_LIBRARY_ENV} to a built libplasma.so`,
      { cause },
    );
  }
  return loaded;
}

/**
 * dlopen needs a real file. In a `deno compile` binary the library is embedded in a virtual
 * filesystem that Deno can read but the dynamic loader cannot, so it is copied out first.
 */
function openLibrary(path: string): NativeSymbols {
  try {
    return Deno.dlopen(path, SYMBOLS).symbols;
  } catch (error) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch {
      throw error;
    }
    const copy = Deno.makeTempFileSync({ prefix: "libplasma-", suffix: ".so" });
    Deno.writeFileSync(copy, bytes);
    return Deno.dlopen(copy, SYMBOLS).symbols;
  }
}

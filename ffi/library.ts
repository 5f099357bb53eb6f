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
    Deno.dlopen(path, {}); // loadable as it is? (kept open: the symbols bound later reuse it)
    return bindLazily(path);
  } catch (error) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch {
      throw error;
    }
    const copy = Deno.makeTempFileSync({ prefix: "libplasma-", suffix: ".so" });
    Deno.writeFileSync(copy, bytes);
    return bindLazily(copy);
  }
}

/**
 * Binds each symbol on its first use: binding costs ~0.5-1 ms per symbol (Deno 2.9.6), ~40 ms for
 * the whole table in every isolate that loads it, and the store's main thread and spill Worker
 * use a handful (docs/startup.md). After the first use the property holds the function itself.
 */
function bindLazily(path: string): NativeSymbols {
  const symbols = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(SYMBOLS)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        const bound = Deno.dlopen(path, { [name]: spec }).symbols[name];
        Object.defineProperty(symbols, name, { value: bound, enumerable: true });
        return bound;
      },
    });
  }
  return symbols as NativeSymbols;
}

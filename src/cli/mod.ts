/**
 * The store's command line and start-up checks: size parsing, flags, capacity and socket checks.
 * @module
 */
export * from "./sizes.ts";
export * from "./store_flags.ts";
export * from "./startup_checks.ts";

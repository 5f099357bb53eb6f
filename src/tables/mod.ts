/**
 * Arrow tables in the store, shared with pyarrow programs in the IPC stream format: a separate
 * export (`@plasma-deno/plasma/tables`) so that the client alone never loads apache-arrow.
 * @module
 */
export * from "./plasma_tables.ts";

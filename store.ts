/**
 * The store's entry point:
 * `deno run -A store.ts --socket PATH --memory SIZE [--plasma-directory DIR] [--populate] [--hugepages] [--help]`
 * @module
 */
import { storeMain } from "./src/cli/store_main.ts";

if (import.meta.main) Deno.exit(await storeMain(Deno.args));

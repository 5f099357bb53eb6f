/**
 * The store's command-line entry point. The store itself arrives with the next issue; until then
 * this says so and exits with status 1.
 */
console.error("plasma store: the store is not built yet (the native foundation is); see README.md");
Deno.exit(1);

/**
 * What the core knows of a client: an id, the objects it references, and its counts against the
 * per-client limits. Sockets and dialects live in ClientSession (the server's), which extends this.
 * Invariant: `objects` holds exactly the keys whose refCount this client contributes one to.
 * @module
 */

export class StoreClient {
  readonly id: number;
  /** Keys of the objects this client holds a reference to (created-unsealed or got). */
  readonly objects = new Set<string>();
  /** Gets of this client waiting now. */
  pendingGets = 0;
  /** Creates of this client waiting in the create queue now. */
  queuedCreates = 0;

  constructor(id: number) {
    this.id = id;
  }
}

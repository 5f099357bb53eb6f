/**
 * Who may connect: with no allowed uids or gids, anyone who can open the socket file (its mode
 * decides); otherwise only processes whose SO_PEERCRED uid or primary gid is allowed, and always
 * the store's own user. Invariant: a refused peer never becomes a session.
 * @module
 */

/** The allowed users and groups (both empty: no check beyond the socket file's permissions). */
export interface AccessOptions {
  allowUids: readonly number[];
  allowGids: readonly number[];
}

/** The decision for connecting peers. */
export class AccessPolicy {
  readonly #uids: Set<number>;
  readonly #gids: Set<number>;
  readonly #open: boolean;

  /** @param ownUid the store's user, always allowed (its administrator must reach it) */
  constructor(options: AccessOptions | undefined, ownUid: number) {
    this.#uids = new Set([...(options?.allowUids ?? []), ownUid]);
    this.#gids = new Set(options?.allowGids ?? []);
    this.#open = (options?.allowUids.length ?? 0) === 0 && (options?.allowGids.length ?? 0) === 0;
  }

  /** Whether a peer with these credentials may connect. */
  allows(peer: { uid: number; gid: number }): boolean {
    return this.#open || this.#uids.has(peer.uid) || this.#gids.has(peer.gid);
  }
}

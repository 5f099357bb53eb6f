/**
 * The object manager of one node: publishes the local store's sealed objects to the cluster
 * directory, serves them to peers, and pulls objects a local get waits for (or a fetch asks
 * for) from the nodes that hold them. It runs beside the store's runner as a client of its store.
 * Invariant: a pulled object is sealed only after all its bytes arrived; otherwise it is aborted.
 * @module
 */
import { ObjectExistsError, PlasmaClient } from "../client/mod.ts";
import { PUBLISH_DELAY_MS, SMALL_PULL_BYTES_MAX, TRANSFER_STALL_MS } from "../cluster/constants.ts";
import type { ClusterDirectory, DirectoryEvent, ObjectLocation, PublishedObject } from "../cluster/directory.ts";
import { ObjectId } from "../protocol/object_id.ts";
import type { SpilledObject, StoreEvent } from "../store/store_events.ts";
import { LocateBatcher } from "./locate_batcher.ts";
import { PeerConnection, PullRedirectedError } from "./peer_connection.ts";
import { PullManager, type PullPriority } from "./pull_manager.ts";
import { ReceivedBatcher } from "./received_batcher.ts";
import { ReceivingObject } from "./receiving_object.ts";
import { newTransferCounters, type TransferCounters } from "./transfer_counters.ts";
import { TransferServer } from "./transfer_server.ts";
import { parseAddress } from "./peer_connection.ts";

/** Store clients the pulls share (each pull creates and seals through one; a create that waits
 * for memory then holds up only the pulls on its client). */
const PULL_CLIENTS = 4;

export interface ObjectManagerOptions {
  /** The local store's socket. */
  socketPath: string;
  nodeId: string;
  /** `HOST:PORT` to listen on for peers (port 0: any free port). */
  nodeAddress: string;
  /** The cluster secret (null: the node port is open to anyone who can reach it). */
  secret: Uint8Array | null;
  directory: ClusterDirectory;
  log: (message: string) => void;
}

export class ObjectManager {
  readonly counters: TransferCounters;
  readonly nodeId: string;
  readonly #options: ObjectManagerOptions;
  readonly #serveClient: PlasmaClient;
  readonly #pullClients: PlasmaClient[];
  readonly #server: TransferServer;
  readonly #pulls: PullManager;
  readonly #peers = new Map<string, Promise<PeerConnection>>();
  /** Objects being pulled here, by id: peers redirected here are relayed what has arrived. */
  readonly #receiving: Map<string, ReceivingObject>;
  /** Stores small pulled objects in batches (one CreateAndSeal for those that arrived together). */
  readonly #smallWrites: ReceivedBatcher;
  /** Objects the local store holds only on disk, by id: peers are served from the spill file. */
  readonly #spilled: Map<string, SpilledObject>;
  /** Sealed objects in the local store, as the directory should know them. */
  readonly #held = new Map<string, PublishedObject>();
  readonly #toPublish = new Map<string, PublishedObject>();
  readonly #toWithdraw = new Set<string>();
  #flushing: Promise<void> | null = null;
  #stopped = false;
  readonly #stopListeners: (() => void)[] = [];

  private constructor(
    options: ObjectManagerOptions,
    serveClient: PlasmaClient,
    pullClients: PlasmaClient[],
    server: TransferServer,
    counters: TransferCounters,
    receiving: Map<string, ReceivingObject>,
    spilled: Map<string, SpilledObject>,
  ) {
    this.#receiving = receiving;
    this.#spilled = spilled;
    this.#smallWrites = new ReceivedBatcher(pullClients);
    this.counters = counters;
    this.#options = options;
    this.nodeId = options.nodeId;
    this.#serveClient = serveClient;
    this.#pullClients = pullClients;
    this.#server = server;
    const locations = new LocateBatcher(options.directory);
    this.#pulls = new PullManager({
      nodeId: options.nodeId,
      capacityBytes: serveClient.capacityBytes,
      counters: this.counters,
      locate: (id) => locations.locate(id),
      transfer: (id, holder, failedAttempts) => this.#transfer(id, holder, failedAttempts),
      log: options.log,
    });
  }

  /**
   * Connects to the local store, listens for peers, joins the directory and publishes what the
   * store already holds.
   * @throws {Error} when the store, the port or the directory cannot be reached
   */
  static async start(options: ObjectManagerOptions): Promise<ObjectManager> {
    const { hostname, port } = parseAddress(options.nodeAddress, { portZero: true });
    const clients: PlasmaClient[] = [];
    let server: TransferServer | undefined;
    try {
      for (let index = 0; index <= PULL_CLIENTS; index++) clients.push(await PlasmaClient.connect(options.socketPath));
      for (const client of clients) await mapStoreMemory(client, options.log);
      const [serveClient, ...pullClients] = clients;
      const counters = newTransferCounters();
      const receiving = new Map<string, ReceivingObject>();
      const spilled = new Map<string, SpilledObject>();
      server = TransferServer.listen({
        hostname,
        port,
        nodeId: options.nodeId,
        secret: options.secret,
        store: serveClient,
        counters,
        log: options.log,
        receiving: (id) => receiving.get(id),
        spilled: (id) => spilled.get(id),
      });
      const manager = new ObjectManager(options, serveClient, pullClients, server, counters, receiving, spilled);
      await manager.#join(hostname, server.port);
      return manager;
    } catch (error) {
      await server?.close();
      for (const client of clients) client.close();
      throw error;
    }
  }

  /** Where peers reach this node. */
  get address(): string {
    return `${parseAddress(this.#options.nodeAddress, { portZero: true }).hostname}:${this.#server.port}`;
  }

  /** Feeds the local store's events in (from the runner). */
  handleStoreEvent(event: StoreEvent): void {
    if (this.#stopped) return;
    if (event.type === "objectAdded") {
      this.#spilled.delete(event.objectIdHex); // in memory again (restored), or new
      const object = { objectIdHex: event.objectIdHex, dataSize: event.dataSize, metadataSize: event.metadataSize };
      this.#held.set(event.objectIdHex, object);
      this.#toWithdraw.delete(event.objectIdHex);
      this.#toPublish.set(event.objectIdHex, object);
      this.#scheduleFlush();
    } else if (event.type === "objectsSpilled") {
      for (const object of event.objects) this.#spilled.set(object.objectIdHex, object);
    } else if (event.type === "objectDeleted") {
      this.#spilled.delete(event.objectIdHex);
      this.#held.delete(event.objectIdHex);
      this.#toPublish.delete(event.objectIdHex);
      this.#toWithdraw.add(event.objectIdHex);
      this.#scheduleFlush();
    } else if (event.type === "objectsWanted") {
      for (const id of event.objectIdsHex) this.pull(id, event.priority).catch(() => {}); // the pull manager logs
    } else if (event.type === "deleteEverywhere") {
      this.deleteEverywhere(event.objectIdsHex).catch((error) =>
        this.#options.log(`deleting everywhere failed: ${(error as Error).message}`)
      );
    }
  }

  /** Starts pulling objects without waiting (objects already here or being pulled are skipped). */
  fetch(objectIdsHex: string[]): void {
    for (const id of objectIdsHex) if (!this.#held.has(id)) this.pull(id, "fetch").catch(() => {});
  }

  /** Pulls one object into the local store. @throws {Error} once every holder failed until the deadline */
  pull(objectIdHex: string, priority: PullPriority): Promise<void> {
    if (this.#held.has(objectIdHex)) return Promise.resolve();
    return this.#pulls.pull(objectIdHex, priority);
  }

  /** Deletes objects on every node (each deletes its copy; referenced copies go when released). */
  async deleteEverywhere(objectIdsHex: string[]): Promise<void> {
    await this.#options.directory.purge(objectIdsHex);
  }

  /** Runs `listener` when the manager stops. */
  onStop(listener: () => void): void {
    this.#stopListeners.push(listener);
  }

  /** Leaves the directory, closes peer connections, the listener and the store clients. Safe twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const listener of this.#stopListeners) listener();
    this.#pulls.stop();
    await this.#flushing;
    await this.#options.directory.leave();
    for (const peer of this.#peers.values()) peer.then((connection) => connection.close(), () => {});
    await this.#server.close();
    this.#serveClient.close();
    for (const client of this.#pullClients) client.close();
  }

  async #join(hostname: string, port: number): Promise<void> {
    const directory = this.#options.directory;
    directory.onEvent((event) => this.#onDirectoryEvent(event));
    directory.onReconnect(() => {
      for (const [id, object] of this.#held) this.#toPublish.set(id, object);
      this.#scheduleFlush();
    });
    await directory.join({ nodeId: this.nodeId, address: `${hostname}:${port}` });
    for (const listing of await this.#serveClient.list()) {
      if (listing.state !== "sealed") continue;
      const object = {
        objectIdHex: listing.id.toHex(),
        dataSize: listing.dataSize,
        metadataSize: listing.metadataSize,
      };
      this.#held.set(object.objectIdHex, object);
      this.#toPublish.set(object.objectIdHex, object);
    }
    this.#scheduleFlush();
  }

  #onDirectoryEvent(event: DirectoryEvent): void {
    if (event.type === "added") this.#pulls.locationsAdded(event.objectIdsHex);
    else if (event.type === "resync") this.#pulls.resync();
    else if (event.type === "purge") void this.#deleteLocally(event.objectIdsHex);
  }

  async #deleteLocally(objectIdsHex: string[]): Promise<void> {
    try {
      await this.#serveClient.delete(objectIdsHex.map((id) => ObjectId.fromHex(id)));
    } catch (error) {
      this.#options.log(`deleting purged objects failed: ${(error as Error).message}`);
    }
  }

  /** Location changes go to the directory in batches, one batch at a time, in order. */
  #scheduleFlush(): void {
    if (this.#flushing !== null || this.#stopped) return;
    this.#flushing = (async () => {
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_DELAY_MS));
      while (this.#toPublish.size > 0 || this.#toWithdraw.size > 0) {
        const publish = [...this.#toPublish.values()];
        const withdraw = [...this.#toWithdraw];
        this.#toPublish.clear();
        this.#toWithdraw.clear();
        try {
          if (withdraw.length > 0) await this.#options.directory.withdraw(withdraw);
          if (publish.length > 0) await this.#options.directory.publish(publish);
        } catch (error) {
          // The directory is down: everything held is republished when it is back.
          this.#options.log(`publishing locations failed: ${(error as Error).message}`);
        }
      }
    })().finally(() => (this.#flushing = null));
  }

  /**
   * Creates the object here (received from remote), pulls its bytes into it, seals it. While it
   * arrives it is listed as receiving, so peers redirected here are relayed its chunks. The first
   * attempt lets the holder redirect us to a relay; retries pull from the holder itself.
   */
  async #transfer(objectIdHex: string, holder: ObjectLocation, failedAttempts: number): Promise<void> {
    const id = ObjectId.fromHex(objectIdHex);
    if (holder.dataSize + holder.metadataSize <= SMALL_PULL_BYTES_MAX) return await this.#transferSmall(id, holder);
    const client = this.#pullClients[Math.floor(Math.random() * this.#pullClients.length)];
    const { dataSize, metadataSize } = holder;
    let data: Uint8Array;
    try {
      data = await client.create(id, dataSize, { metadata: new Uint8Array(metadataSize), receivedFromRemote: true });
    } catch (error) {
      if (error instanceof ObjectExistsError) return; // here already, or being written here
      throw error;
    }
    const target = dataSize + metadataSize === 0
      ? new Uint8Array(0)
      : new Uint8Array(data.buffer, data.byteOffset, dataSize + metadataSize);
    const receiving = new ReceivingObject(target, holder);
    this.#receiving.set(objectIdHex, receiving);
    try {
      await this.#pullInto(id, receiving, target, holder, failedAttempts === 0);
      await receiving.retire(); // no relay reads `target` any more
      await client.seal(id); // detaches `target`
      receiving.sealed();
      this.counters.numBytesPulled += dataSize + metadataSize;
      this.counters.numObjectsPulled++;
    } catch (error) {
      await receiving.fail(error as Error);
      await client.abort(id).catch(() => {});
      throw error;
    } finally {
      this.#receiving.delete(objectIdHex);
    }
  }

  /**
   * Pulls a small object into the JS heap (it arrives with others in one read), then stores it
   * with the others that arrived together, in one batch; nothing is created before all its bytes
   * are here, so nothing half-written can exist.
   */
  async #transferSmall(id: ObjectId, holder: ObjectLocation): Promise<void> {
    const whole = new Uint8Array(holder.dataSize + holder.metadataSize);
    const peer = await this.#peer(holder.address);
    await this.#guardStall(peer, (onProgress) => peer.pull(id.rawBytes, whole, holder, { onProgress }));
    await this.#smallWrites.write(id, whole, holder.dataSize);
    this.counters.numBytesPulled += whole.length;
    this.counters.numObjectsPulled++;
  }

  /** Pulls from `holder`, or from the relay it redirects us to (one hop at most). */
  async #pullInto(
    id: ObjectId,
    receiving: ReceivingObject,
    target: Uint8Array,
    holder: ObjectLocation,
    allowRedirect: boolean,
  ): Promise<void> {
    let address = holder.address;
    for (;;) {
      const peer = await this.#peer(address);
      try {
        return await this.#guardStall(peer, (onProgress) =>
          peer.pull(id.rawBytes, target, holder, {
            allowRedirect,
            onProgress: (bytes) => {
              receiving.progress(bytes);
              onProgress();
            },
          }));
      } catch (error) {
        if (!(error instanceof PullRedirectedError) || !allowRedirect) {
          if (address === holder.address) throw error;
          // Logged here: the pull manager retries from the holder itself and logs only a final failure.
          const message = `pull of ${id} via relay ${address} failed (${(error as Error).message})`;
          this.#options.log(`${message}; retrying from a holder`);
          throw new Error(message);
        }
        address = error.address;
        allowRedirect = false;
      }
    }
  }

  /** Closes the peer connection (failing its pulls, which retry elsewhere) if a pull stalls. */
  async #guardStall(peer: PeerConnection, run: (onProgress: () => void) => Promise<void>): Promise<void> {
    let progressed = true;
    const timer = setInterval(() => {
      if (!progressed) peer.close();
      progressed = false;
    }, TRANSFER_STALL_MS);
    try {
      await run(() => (progressed = true));
    } finally {
      clearInterval(timer);
    }
  }

  #peer(address: string): Promise<PeerConnection> {
    const existing = this.#peers.get(address);
    if (existing !== undefined) {
      return existing.then((peer) => (peer.closed ? this.#connect(address) : peer), () => this.#connect(address));
    }
    return this.#connect(address);
  }

  #connect(address: string): Promise<PeerConnection> {
    const connecting = PeerConnection.connect(address, this.nodeId, this.#options.secret, this.address);
    this.#peers.set(address, connecting);
    return connecting;
  }
}

/**
 * Maps the store's main chunk into `client` now: a client maps (and populates) a chunk on the first
 * reply that names it, which for a 1 GiB store took 100-300 ms here and would otherwise land on
 * the first pull served or received (profiled: the first chunk of a pull waited that long).
 * Best effort: a full store only delays the mapping to the first transfer.
 */
async function mapStoreMemory(client: PlasmaClient, log: (message: string) => void): Promise<void> {
  try {
    await client.delete([await client.put(new Uint8Array(1))]);
  } catch (error) {
    log(`mapping the store's memory ahead of transfers failed: ${(error as Error).message}`);
  }
}

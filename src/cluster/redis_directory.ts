/**
 * The cluster directory in Redis. Keys (all under KEY_PREFIX):
 *   node:{id}   string, the node's address, expires NODE_TTL_MS after the last heartbeat (liveness)
 *   nodes       hash id -> address: every node that joined and was not yet reaped
 *   holds:{id}  set of object ids (hex) a node holds, so its locations go when it does
 *   loc:{obj}   hash node id -> "dataSize:metadataSize": the holders of one object
 *   events      stream of location changes (op, node, ids), trimmed to EVENTS_STREAM_LENGTH_MAX
 * Invariant: a location is written and announced atomically (one script or MULTI, so a follower
 * that re-reads after an event finds it), and a dead node's locations are removed by one script.
 * @module
 */
import { createClient } from "redis";
import {
  DIRECTORY_REPLY_DEADLINE_MS,
  EVENTS_BLOCK_MS,
  EVENTS_STREAM_LENGTH_MAX,
  HEARTBEAT_INTERVAL_MS,
  KEY_PREFIX,
  NODE_TTL_MS,
  PUBLISH_BATCH_MAX,
} from "./constants.ts";
import type { ClusterDirectory, DirectoryEvent, NodeInfo, ObjectLocation, PublishedObject } from "./directory.ts";

type RedisClient = ReturnType<typeof createClient>;
type Connection = "command" | "stream";

const NODES = `${KEY_PREFIX}nodes`;
const EVENTS = `${KEY_PREFIX}events`;
const nodeKey = (nodeId: string) => `${KEY_PREFIX}node:${nodeId}`;
const holdsKey = (nodeId: string) => `${KEY_PREFIX}holds:${nodeId}`;
const locationKey = (objectIdHex: string) => `${KEY_PREFIX}loc:${objectIdHex}`;
/** Attempts to reach Redis at start-up before the node gives up. */
const CONNECT_ATTEMPTS_MAX = 5;
const TRIM = { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: EVENTS_STREAM_LENGTH_MAX } } as const;

/** Removes every node whose liveness key expired, with its locations; one event per node. */
const REAP_SCRIPT = `
local reaped = 0
for _, node in ipairs(redis.call('HKEYS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'node:' .. node) == 0 then
    for _, obj in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'holds:' .. node)) do
      redis.call('HDEL', ARGV[1] .. 'loc:' .. obj, node)
    end
    redis.call('DEL', ARGV[1] .. 'holds:' .. node)
    redis.call('HDEL', KEYS[1], node)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'op', 'nodeGone', 'node', node, 'ids', '')
    reaped = reaped + 1
  end
end
return reaped`;

/**
 * Publishes one batch of a node's locations: HSET per object, one SADD, one XADD, atomically as
 * the MULTI it replaces, but one command to encode instead of one per object (the publisher's
 * JS cost per object was most of a cluster node's put overhead). ARGV: prefix, node id, stream
 * length, then object id and "dataSize:metadataSize" pairs.
 */
const PUBLISH_SCRIPT = `
local ids = {}
for i = 4, #ARGV, 2 do
  redis.call('HSET', ARGV[1] .. 'loc:' .. ARGV[i], ARGV[2], ARGV[i + 1])
  ids[#ids + 1] = ARGV[i]
end
redis.call('SADD', KEYS[2], unpack(ids))
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'op', 'added', 'node', ARGV[2], 'ids', table.concat(ids, ','))
return #ids`;

/** Options of {@linkcode RedisDirectory.connect}. */
export interface RedisDirectoryOptions {
  /** Told about connection trouble (one line each); default: nothing. */
  log?: (message: string) => void;
}

/** A command that got no answer in time (its connection is then replaced). */
class DeadlineError extends Error {}

export class RedisDirectory implements ClusterDirectory {
  /** The command connection, and the one that follows the event stream (its reads block). */
  readonly #connections: Record<Connection, RedisClient>;
  /** A connection that reconnects forever: what replaces a wedged one. */
  readonly #makeClient: () => RedisClient;
  readonly #log: (message: string) => void;
  readonly #eventListeners: ((event: DirectoryEvent) => void)[] = [];
  readonly #reconnectListeners: (() => void)[] = [];
  #node: NodeInfo | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #following: Promise<void> | undefined;
  #heartbeatFailing = false;
  #beating = false;

  private constructor(
    client: RedisClient,
    follower: RedisClient,
    makeClient: () => RedisClient,
    log: (message: string) => void,
  ) {
    this.#connections = { command: client, stream: follower };
    this.#makeClient = makeClient;
    this.#log = log;
  }

  /**
   * Connects to Redis at `url` (`redis://HOST:PORT`): one connection for commands, one for
   * following the event stream (its reads block).
   * @throws {Error} when Redis cannot be reached
   */
  static async connect(url: string, options: RedisDirectoryOptions = {}): Promise<RedisDirectory> {
    const log = options.log ?? (() => {});
    // Commands fail at once while disconnected (no offline queue): everything a node holds is
    // republished after a reconnect, so nothing is lost and nothing piles up.
    // At start-up a few quick attempts, then an error (the node refuses to start without its
    // directory); once connected, reconnect forever with back-off.
    const make = (connectedBefore: boolean) => {
      let connected = connectedBefore;
      const client = createClient({
        url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 2_000,
          reconnectStrategy: (retries: number, cause: Error) =>
            connected ? Math.min(50 * 2 ** retries, 1_000) : retries < CONNECT_ATTEMPTS_MAX ? 100 : cause,
        },
      });
      client.on("ready", () => (connected = true));
      client.on("error", () => {}); // Reconnects are reported by the heartbeat, once per outage.
      return client;
    };
    const client = make(false);
    const follower = make(false);
    try {
      await client.connect();
      await follower.connect();
    } catch (error) {
      destroyQuietly(client);
      destroyQuietly(follower);
      throw new Error(`Cannot reach the cluster directory at ${url}: ${(error as Error).message}`);
    }
    return new RedisDirectory(client, follower, () => make(true), log);
  }

  async join(node: NodeInfo): Promise<void> {
    this.#node = node;
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beatSafely(), HEARTBEAT_INTERVAL_MS);
    this.#following ??= this.#follow().catch((error) =>
      this.#log(`cluster directory: following location changes stopped: ${(error as Error).message}`)
    );
  }

  async publish(objects: PublishedObject[]): Promise<void> {
    const nodeId = this.#nodeId();
    for (let start = 0; start < objects.length; start += PUBLISH_BATCH_MAX) {
      const batch = objects.slice(start, start + PUBLISH_BATCH_MAX);
      const args = [KEY_PREFIX, nodeId, String(EVENTS_STREAM_LENGTH_MAX)];
      for (const object of batch) args.push(object.objectIdHex, `${object.dataSize}:${object.metadataSize}`);
      await this.#ask(
        "publish",
        (client) => client.eval(PUBLISH_SCRIPT, { keys: [EVENTS, holdsKey(nodeId)], arguments: args }),
      );
    }
  }

  async withdraw(objectIdsHex: string[]): Promise<void> {
    const nodeId = this.#nodeId();
    for (let start = 0; start < objectIdsHex.length; start += PUBLISH_BATCH_MAX) {
      const batch = objectIdsHex.slice(start, start + PUBLISH_BATCH_MAX);
      await this.#ask("withdraw", (client) => {
        const multi = client.multi();
        for (const id of batch) multi.hDel(locationKey(id), nodeId);
        multi.sRem(holdsKey(nodeId), batch);
        multi.xAdd(EVENTS, "*", { op: "removed", node: nodeId, ids: batch.join(",") }, TRIM);
        return multi.exec();
      });
    }
  }

  async locate(objectIdsHex: string[]): Promise<Map<string, ObjectLocation[]>> {
    const [nodes, ...holders] = await this.#ask("locate", (client) => {
      const multi = client.multi();
      multi.hGetAll(NODES);
      for (const id of objectIdsHex) multi.hGetAll(locationKey(id));
      return multi.execAsPipeline() as unknown as Promise<Record<string, string>[]>;
    });
    const located = new Map<string, ObjectLocation[]>();
    objectIdsHex.forEach((id, index) => {
      const locations: ObjectLocation[] = [];
      for (const [nodeId, sizes] of Object.entries(holders[index] ?? {})) {
        const address = nodes[nodeId];
        const [dataSize, metadataSize] = sizes.split(":").map(Number);
        if (address !== undefined) locations.push({ nodeId, address, dataSize, metadataSize });
      }
      located.set(id, locations);
    });
    return located;
  }

  async nodes(): Promise<NodeInfo[]> {
    const nodes = await this.#ask("nodes", (client) => client.hGetAll(NODES));
    return Object.entries(nodes).map(([nodeId, address]) => ({ nodeId, address }));
  }

  async purge(objectIdsHex: string[]): Promise<void> {
    for (let start = 0; start < objectIdsHex.length; start += PUBLISH_BATCH_MAX) {
      const batch = objectIdsHex.slice(start, start + PUBLISH_BATCH_MAX);
      const event = { op: "purge", node: this.#nodeId(), ids: batch.join(",") };
      await this.#ask("purge", (client) => client.xAdd(EVENTS, "*", event, TRIM));
    }
  }

  onEvent(listener: (event: DirectoryEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  onReconnect(listener: () => void): void {
    this.#reconnectListeners.push(listener);
  }

  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const nodeId = this.#node?.nodeId;
    try {
      if (nodeId !== undefined && this.#connections.command.isReady) {
        const held = await this.#ask("leave", (client) => client.sMembers(holdsKey(nodeId)));
        if (held.length > 0) await this.withdraw(held);
        await this.#ask(
          "leave",
          (client) =>
            client.multi().del(nodeKey(nodeId)).del(holdsKey(nodeId)).hDel(NODES, nodeId)
              .xAdd(EVENTS, "*", { op: "nodeGone", node: nodeId, ids: "" }, TRIM).exec(),
        );
      }
    } catch (error) {
      this.#log(`cluster directory: leaving failed (${(error as Error).message}); heartbeats expire instead`);
    } finally {
      await this.#closeConnections();
    }
  }

  /** Stops heartbeating and closes the connections without withdrawing anything: the others
   * reap this node after NODE_TTL_MS, as after a crash. Safe twice, and after `leave`. */
  async abandon(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    await this.#closeConnections();
  }

  /** Closes both connections and waits for the stream reader to stop (bounded: it may be wedged). */
  async #closeConnections(): Promise<void> {
    destroyQuietly(this.#connections.command);
    destroyQuietly(this.#connections.stream);
    const following = this.#following ?? Promise.resolve();
    await withDeadline(following, DIRECTORY_REPLY_DEADLINE_MS, "the location stream reader's stop").catch(() => {});
  }

  /** One command on the command connection, with a deadline (see {@linkcode #on}). */
  #ask<T>(what: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.#on("command", what, DIRECTORY_REPLY_DEADLINE_MS, command);
  }

  /** One read of the location stream, with a deadline past its block (see {@linkcode #on}). */
  #read<T>(command: (follower: RedisClient) => Promise<T>): Promise<T> {
    return this.#on("stream", "a stream read", EVENTS_BLOCK_MS + DIRECTORY_REPLY_DEADLINE_MS, command);
  }

  /**
   * Runs `command` on one connection, with a deadline: a connection that does not answer in time
   * is replaced (its socket may look open while nothing comes back), and the command fails with an
   * error that says so.
   */
  async #on<T>(
    connection: Connection,
    what: string,
    deadlineMs: number,
    command: (client: RedisClient) => Promise<T>,
  ): Promise<T> {
    const client = this.#connections[connection];
    try {
      return await withDeadline(command(client), deadlineMs, what);
    } catch (error) {
      if (error instanceof DeadlineError && client === this.#connections[connection] && !this.#closed) {
        this.#log(`cluster directory: ${error.message}; reconnecting`);
        this.#connections[connection] = this.#replacement(client);
      }
      throw error;
    }
  }

  /** Closes a wedged connection and starts a fresh one (commands fail at once until it is ready). */
  #replacement(wedged: RedisClient): RedisClient {
    destroyQuietly(wedged);
    const fresh = this.#makeClient();
    fresh.connect().catch(() => {}); // retries forever; a close ends it
    return fresh;
  }

  /** Renews liveness and reaps dead nodes. A missing liveness key means this node was forgotten
   * (Redis restarted, or this node was paused past its TTL and reaped): republish everything. */
  async #beat(): Promise<void> {
    const node = this.#node!;
    const [previous] = await this.#ask("heartbeat", (client) => {
      const multi = client.multi();
      multi.set(nodeKey(node.nodeId), node.address, { expiration: { type: "PX", value: NODE_TTL_MS }, GET: true });
      multi.hSet(NODES, node.nodeId, node.address);
      multi.eval(REAP_SCRIPT, { keys: [NODES, EVENTS], arguments: [KEY_PREFIX, String(EVENTS_STREAM_LENGTH_MAX)] });
      return multi.exec();
    });
    if (previous === null && this.#heartbeat !== undefined) {
      this.#log("cluster directory: this node was forgotten (Redis restarted or heartbeats stalled); republishing");
      for (const listener of this.#reconnectListeners) listener();
      this.#emit({ type: "resync" });
    }
  }

  async #beatSafely(): Promise<void> {
    // One at a time: a beat that hangs is cut off by its deadline, not joined by more.
    if (this.#beating) return;
    this.#beating = true;
    try {
      await this.#beat();
      if (this.#heartbeatFailing) this.#log("cluster directory: reachable again");
      this.#heartbeatFailing = false;
    } catch (error) {
      if (!this.#heartbeatFailing && !this.#closed) {
        this.#log(`cluster directory: heartbeat failed (${(error as Error).message}); retrying`);
      }
      this.#heartbeatFailing = true;
    } finally {
      this.#beating = false;
    }
  }

  /** Reads the event stream from where it stopped; after any failure, resumes from the end and
   * tells listeners to resync (the stream may have been lost with Redis). */
  async #follow(): Promise<void> {
    let lastId = "$";
    try {
      lastId = await this.#streamEnd();
    } catch { /* Redis went away already: the loop below recovers and resyncs */ }
    while (!this.#closed) {
      try {
        const reply = await this.#read((follower) =>
          follower.xRead({ key: EVENTS, id: lastId }, { COUNT: 1_000, BLOCK: EVENTS_BLOCK_MS })
        );
        for (const stream of (reply ?? []) as { messages: { id: string; message: Record<string, string> }[] }[]) {
          for (const { id, message } of stream.messages) {
            lastId = id;
            this.#emit(parseEvent(message));
          }
        }
      } catch {
        if (this.#closed) return;
        await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS));
        try {
          lastId = await this.#streamEnd();
          this.#emit({ type: "resync" });
        } catch { /* still down: try again */ }
      }
    }
  }

  async #streamEnd(): Promise<string> {
    const [last] = await this.#read((follower) => follower.xRevRange(EVENTS, "+", "-", { COUNT: 1 }));
    return last?.id ?? "0-0";
  }

  #emit(event: DirectoryEvent | undefined): void {
    if (event === undefined) return;
    for (const listener of this.#eventListeners) listener(event);
  }

  #nodeId(): string {
    if (this.#node === undefined) throw new Error("The node has not joined the cluster directory");
    return this.#node.nodeId;
  }
}

function parseEvent(message: Record<string, string>): DirectoryEvent | undefined {
  const ids = message.ids ? message.ids.split(",") : [];
  switch (message.op) {
    case "added":
      return { type: "added", nodeId: message.node, objectIdsHex: ids };
    case "removed":
      return { type: "removed", nodeId: message.node, objectIdsHex: ids };
    case "nodeGone":
      return { type: "nodeGone", nodeId: message.node };
    case "purge":
      return { type: "purge", objectIdsHex: ids };
    default:
      return undefined; // Written by a newer version: ignore rather than fail.
  }
}

/** `promise`, or a DeadlineError once `ms` passed without it settling (its late outcome is ignored). */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => {}); // settled or not, nobody waits for it past the deadline
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} not answered in ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Closes a connection whatever state it is in (node-redis throws for one already closed). */
function destroyQuietly(client: RedisClient): void {
  try {
    client.destroy();
  } catch { /* already closed */ }
}

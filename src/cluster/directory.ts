/**
 * The cluster directory's interface: node membership and which nodes hold each sealed object.
 * The object manager only talks to this interface, so Redis can be replaced by another engine.
 * @module
 */

/** One node of the cluster: its id and where its object manager listens for peers. */
export interface NodeInfo {
  nodeId: string;
  /** `HOST:PORT` of the node's transfer listener. */
  address: string;
}

/** One sealed copy of an object somewhere in the cluster. */
export interface ObjectLocation {
  nodeId: string;
  address: string;
  dataSize: number;
  metadataSize: number;
}

/** An object to publish: its id (hex) and its sizes (a puller creates the buffer before asking). */
export interface PublishedObject {
  objectIdHex: string;
  dataSize: number;
  metadataSize: number;
}

/** A location change another node made, as followers see it. */
export type DirectoryEvent =
  | { type: "added"; nodeId: string; objectIdsHex: string[] }
  | { type: "removed"; nodeId: string; objectIdsHex: string[] }
  | { type: "nodeGone"; nodeId: string }
  | { type: "purge"; objectIdsHex: string[] }
  /** The follower may have missed changes (reconnected, stream reset): re-read what matters. */
  | { type: "resync" };

/** Membership and object locations shared by every node. */
export interface ClusterDirectory {
  /** Registers this node and starts heartbeating; resolves once registered. */
  join(node: NodeInfo): Promise<void>;
  /** Records that this node holds these sealed objects. */
  publish(objects: PublishedObject[]): Promise<void>;
  /** Records that this node no longer holds these objects. */
  withdraw(objectIdsHex: string[]): Promise<void>;
  /** The live holders of each object (an object nobody holds maps to an empty list). */
  locate(objectIdsHex: string[]): Promise<Map<string, ObjectLocation[]>>;
  /** Nodes currently alive. */
  nodes(): Promise<NodeInfo[]>;
  /** Asks every node to delete these objects (a cluster-wide delete). */
  purge(objectIdsHex: string[]): Promise<void>;
  /** Follows location changes made by every node, without missing any (or a `resync`). */
  onEvent(listener: (event: DirectoryEvent) => void): void;
  /** Called after the directory lost its state (e.g. Redis restarted): republish everything. */
  onReconnect(listener: () => void): void;
  /** Withdraws this node and its locations, stops heartbeating, closes connections. Safe twice. */
  leave(): Promise<void>;
}

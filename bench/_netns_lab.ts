/**
 * Emulated per-node NICs for the cluster benchmarks: N network namespaces, each joined to a bridge
 * in the root namespace by a veth pair whose both ends are rate-limited by tc (tbf), so every node
 * has its own link of a given rate. Private to bench/. Needs root.
 * Invariant: whatever `NetnsLab.create` made (namespaces, bridge, links) is removed by `destroy()`,
 * which is safe to call twice and is called by `create` itself when set-up fails half way.
 * @module
 */

/** Runs `ip`, `tc` or another tool and throws with its stderr when it fails. */
export function run(command: string, args: string[]): string {
  const output = new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${command} ${args.join(" ")} failed (exit ${output.code}): ${stderr}`);
  }
  return new TextDecoder().decode(output.stdout);
}

/** One node's namespace: its name (for `ip netns exec`) and its address on the bridge. */
export interface LabNode {
  namespace: string;
  address: string;
}

/** The lab cannot be built here (not root, or no network namespaces): nothing was measured. */
export class LabRefusedError extends Error {
  override name = "LabRefusedError";
}

export interface LabOptions {
  nodes: number;
  /** A tc rate such as "2gbit", applied to each direction of each node's link. */
  rate: string;
}

export class NetnsLab {
  /** The bridge's address in the root namespace (where Redis and the bench's own sockets live). */
  readonly hostAddress: string;
  readonly nodes: LabNode[] = [];
  readonly #bridge: string;
  readonly #tag: string;
  readonly #subnet: string;
  #destroyed = false;

  private constructor(tag: string, subnet: string) {
    this.#tag = tag;
    this.#subnet = subnet;
    this.#bridge = `br${tag}`;
    this.hostAddress = `${subnet}.1`;
  }

  /**
   * Builds the bridge and one namespace per node, refusing with a clear message when not root or
   * when namespaces cannot be made here.
   * @throws {Error} naming the failed command
   */
  static create(options: LabOptions): NetnsLab {
    if (Deno.uid() !== 0) {
      throw new LabRefusedError("needs root (network namespaces, veth, tc): run it as root");
    }
    // A random tag and subnet, so a lab left by a killed run (or another user's) does not collide.
    const tag = crypto.getRandomValues(new Uint8Array(2)).reduce((text, byte) => text + byte.toString(16), "");
    const lab = new NetnsLab(tag.padStart(4, "0"), `10.77.${100 + Math.floor(Math.random() * 150)}`);
    try {
      lab.#probeNamespaces();
      lab.#addBridge();
      for (let index = 1; index <= options.nodes; index++) lab.#addNode(index, options.rate);
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  /** The argv prefix that runs a command inside node `index`'s namespace. */
  exec(index: number): string[] {
    return ["ip", "netns", "exec", this.nodes[index].namespace];
  }

  /** Removes every namespace (their veth pairs go with them) and the bridge. Safe twice. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const node of this.nodes) quietly(() => run("ip", ["netns", "del", node.namespace]));
    quietly(() => run("ip", ["link", "del", this.#bridge]));
  }

  #probeNamespaces(): void {
    const probe = `plprobe${this.#tag}`;
    try {
      run("ip", ["netns", "add", probe]);
    } catch (error) {
      throw new LabRefusedError(`cannot create network namespaces here (ip netns add): ${(error as Error).message}`);
    }
    run("ip", ["netns", "del", probe]);
  }

  #addBridge(): void {
    run("ip", ["link", "add", this.#bridge, "type", "bridge"]);
    run("ip", ["addr", "add", `${this.hostAddress}/24`, "dev", this.#bridge]);
    run("ip", ["link", "set", this.#bridge, "up"]);
  }

  #addNode(index: number, rate: string): void {
    const namespace = `pl${this.#tag}n${index}`;
    const hostEnd = `vh${this.#tag}${index}`;
    const nodeEnd = `vn${this.#tag}${index}`;
    const address = `${this.#subnet}.${10 + index}`;
    run("ip", ["netns", "add", namespace]);
    this.nodes.push({ namespace, address });
    run("ip", ["link", "add", hostEnd, "type", "veth", "peer", "name", nodeEnd]);
    run("ip", ["link", "set", nodeEnd, "netns", namespace]);
    run("ip", ["link", "set", hostEnd, "master", this.#bridge, "up"]);
    run("ip", ["-n", namespace, "addr", "add", `${address}/24`, "dev", nodeEnd]);
    run("ip", ["-n", namespace, "link", "set", nodeEnd, "up"]);
    run("ip", ["-n", namespace, "link", "set", "lo", "up"]);
    // Egress on each end: the host end limits what the node receives, the node end what it sends.
    limit([], hostEnd, rate);
    limit(["-n", namespace], nodeEnd, rate);
  }
}

/** A token bucket at `rate`; the burst holds a few 64 KiB GSO segments, so veth offloads pass. */
function limit(namespaceArgs: string[], device: string, rate: string): void {
  run("tc", [
    ...namespaceArgs,
    "qdisc",
    "add",
    "dev",
    device,
    "root",
    "tbf",
    "rate",
    rate,
    "burst",
    "1mb",
    "latency",
    "50ms",
  ]);
}

function quietly(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    console.error(`cleanup: ${(error as Error).message}`);
  }
}

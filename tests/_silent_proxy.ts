/**
 * Test fixture: a TCP proxy on a free loopback port whose open connections can be silenced: they
 * stay open but no byte passes either way, and a close on one side is not passed on (a wedged
 * network path, or a peer that died without its socket closing). Connections made afterwards
 * pass bytes. `close()` ends everything (call it in `finally`).
 * @module
 */

interface Pair {
  client: Deno.Conn;
  upstream: Deno.Conn;
  silent: boolean;
}

export class SilenceableProxy {
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #pairs = new Set<Pair>();
  readonly #tasks: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.Listener, targetPort: number) {
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept(targetPort);
  }

  /** Forwards a free loopback port to 127.0.0.1:`targetPort`. */
  static start(targetPort: number): SilenceableProxy {
    return new SilenceableProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), targetPort);
  }

  /** Every connection open now goes silent (and stays open); later ones pass bytes. */
  silenceCurrent(): void {
    for (const pair of this.#pairs) pair.silent = true;
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const pair of this.#pairs) closeQuietly(pair);
    await this.#accepting;
    await Promise.allSettled(this.#tasks);
  }

  async #accept(targetPort: number): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // closed
      }
      try {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        const pair = { client, upstream, silent: false };
        this.#pairs.add(pair);
        this.#tasks.push(this.#pump(pair, client, upstream), this.#pump(pair, upstream, client));
      } catch {
        client.close(); // nothing listens there right now
      }
    }
  }

  /** Copies `from` to `to` until either ends; while silent, drops the bytes and keeps both open. */
  async #pump(pair: Pair, from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const read = await from.read(buffer);
        if (read === null) break;
        if (!pair.silent) await writeAll(to, buffer.subarray(0, read));
      }
    } catch { /* closed */ }
    if (pair.silent) return; // a silent pair passes on no close either
    this.#pairs.delete(pair);
    closeQuietly(pair);
  }
}

async function writeAll(to: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await to.write(bytes.subarray(offset));
}

function closeQuietly(pair: Pair): void {
  for (const conn of [pair.client, pair.upstream]) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

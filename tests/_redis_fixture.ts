/**
 * Test fixture: a private redis-server on a free loopback port, no persistence (a restart starts
 * empty, like a lost Redis), stopped by `stop()` (call it in `finally`).
 * @module
 */

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race with other processes is accepted). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export class RedisFixture {
  readonly port: number;
  #process: Deno.ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (installed by tools/install_redis.sh) and waits until it answers. */
  static async start(): Promise<RedisFixture> {
    const fixture = new RedisFixture(freePort());
    await fixture.restart();
    return fixture;
  }

  /** Starts the server again on the same port (after `kill`), empty. */
  async restart(): Promise<void> {
    this.#process = new Deno.Command("redis-server", {
      args: ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = performance.now() + 5_000;
    while (performance.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const reply = new Uint8Array(16);
        const n = await conn.read(reply);
        conn.close();
        if (n && new TextDecoder().decode(reply.subarray(0, n)).startsWith("+PONG")) return;
      } catch { /* not listening yet */ }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.stop();
    throw new Error(`redis-server did not start on port ${this.port} (run tools/install_redis.sh)`);
  }

  /** Kills the server at once (SIGKILL): a crash, not a shutdown. */
  async kill(): Promise<void> {
    if (this.#process === undefined) return;
    this.#process.kill("SIGKILL");
    await this.#process.status;
    this.#process = undefined;
  }

  /** Stops the server. Safe twice. */
  async stop(): Promise<void> {
    await this.kill();
  }
}

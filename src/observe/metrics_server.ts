/**
 * The store's HTTP endpoint for operators: Prometheus `/metrics`, `/healthz`, the dashboard at `/`
 * and its data at `/api/stats`. It runs in the store process's main thread as an ordinary client
 * of the store (one connection over the store's own socket), so the store core knows nothing of
 * HTTP and a scrape costs the store one Stats request. Invariant: every request gets exactly one
 * response; a store that does not answer makes `/healthz` and `/metrics` fail with 503, never hang the server.
 * @module
 */
import { PlasmaClient } from "../client/mod.ts";
import type { StoreStats } from "../protocol/messages.ts";
import { type MetricsAddress, originOf } from "./metrics_address.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./prometheus_text.ts";
import { excludingObserver, objectsBySource, objectsByState } from "./stats_view.ts";

const DASHBOARD_URL = new URL("./dashboard.html", import.meta.url);

/** A stats snapshot and how long reading it took. */
interface Reading {
  stats: StoreStats;
  seconds: number;
}

type Route = (server: MetricsServer) => Promise<Response>;

/** One handler per path; anything else is 404. */
const ROUTES: Record<string, Route> = {
  "/metrics": async (server) => {
    const reading = await server.read();
    return new Response(prometheusText(reading.stats, reading.seconds), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  },
  "/healthz": async (server) => {
    await server.read();
    return new Response("ok\n", { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
  "/api/stats": async (server) => {
    const reading = await server.read();
    const { stats } = reading;
    const body = {
      timeMs: Date.now(),
      socketPath: server.socketPath,
      stats,
      byState: objectsByState(stats),
      bySource: objectsBySource(stats),
    };
    return Response.json(body, { headers: { "cache-control": "no-store" } });
  },
  "/": (server) =>
    Promise.resolve(new Response(server.dashboardHtml, { headers: { "content-type": "text/html; charset=utf-8" } })),
};

/** The metrics endpoint of one store. */
export class MetricsServer {
  /** Where it listens, with the port resolved (when 0 was asked for). */
  readonly origin: string;
  /** The dashboard page, read once at start. */
  readonly dashboardHtml: string;
  /** The store's socket. */
  readonly socketPath: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #client: PlasmaClient | null = null;

  private constructor(socketPath: string, dashboardHtml: string, server: Deno.HttpServer<Deno.NetAddr>) {
    this.socketPath = socketPath;
    this.dashboardHtml = dashboardHtml;
    this.#server = server;
    this.origin = originOf({ hostname: server.addr.hostname, port: server.addr.port });
  }

  /**
   * Listens on `address` and serves the store at `socketPath`.
   * @throws {Deno.errors.AddrInUse} and the like when the address cannot be bound
   */
  static async start(address: MetricsAddress, socketPath: string): Promise<MetricsServer> {
    const dashboardHtml = await Deno.readTextFile(DASHBOARD_URL);
    // The handler needs the instance and the instance needs the server: bind through a holder.
    const holder: { metrics?: MetricsServer } = {};
    const server = Deno.serve(
      { hostname: address.hostname, port: address.port, onListen: () => {} },
      (request) => holder.metrics!.handle(request),
    );
    const metrics = new MetricsServer(socketPath, dashboardHtml, server);
    holder.metrics = metrics;
    return metrics;
  }

  /** Answers one HTTP request. */
  async handle(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("only GET and HEAD\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const route = ROUTES[new URL(request.url).pathname];
    if (route === undefined) return new Response("not found\n", { status: 404 });
    try {
      return await route(this);
    } catch (error) {
      // The store did not answer: drop the connection so the next request reconnects.
      this.#client?.close();
      this.#client = null;
      return new Response(`store at ${this.socketPath} unavailable: ${(error as Error).message}\n`, { status: 503 });
    }
  }

  /** Reads the store's stats over the endpoint's own connection (made on first use). */
  async read(): Promise<Reading> {
    this.#client ??= await PlasmaClient.connect(this.socketPath, { retries: 0 });
    const started = performance.now();
    const stats = await this.#client.stats();
    return { stats: excludingObserver(stats), seconds: (performance.now() - started) / 1000 };
  }

  /** Stops listening and closes the store connection. Safe to call twice. */
  async close(): Promise<void> {
    this.#client?.close();
    this.#client = null;
    await this.#server.shutdown().catch(() => {});
  }
}

/**
 * The `--metrics-address HOST:PORT` value: a host name or IP (IPv6 in brackets) and a TCP port
 * (0 picks a free one). Invariant: a parsed address always has a non-empty host and a port in 0..65535.
 * @module
 */

/** Where the metrics endpoint listens. */
export interface MetricsAddress {
  hostname: string;
  port: number;
}

/**
 * Parses `HOST:PORT` (`127.0.0.1:9100`, `localhost:0`, `[::1]:9100`).
 * @throws {RangeError} naming the value when it is not of that form
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) {
    throw new RangeError(`--metrics-address takes HOST:PORT (e.g. 127.0.0.1:9100), got ${JSON.stringify(text)}`);
  }
  return { hostname: match[1] ?? match[2], port };
}

/** The address as a URL origin (`http://127.0.0.1:9100`). */
export function originOf(address: MetricsAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `http://${host}:${address.port}`;
}

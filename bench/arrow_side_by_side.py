"""The same pyarrow.plasma workload against Arrow's plasma-store-server and against ours.

Both servers run with the same capacity, one after the other, several rounds alternating, and
each row reports the median of its rounds and the ratio ours / Arrow's (>1 means ours is faster,
or for memory: uses less). Rows:
  - create+seal of small objects, 1 and 8 client processes (ops/s)
  - create+seal of small objects by 1 client within an 8 MiB per-client quota (set_client_options),
    so that past 8 MiB each create first evicts the client's oldest object (ops/s)
  - get+release of small objects, 1 and 8 client processes (ops/s)
  - put (create, fill, seal) and get (read every byte) of one 1 GiB object (GB/s), three times
    (the first into fresh memory), next to numpy's copy of the same bytes as the machine's reference
  - store memory per object: RSS growth of the store process with 100k small objects (64 bytes
    each, created with create_and_seal), 0.5 s after the last and again after 25 s idle

Usage: .venv/bin/python bench/arrow_side_by_side.py [--rounds 3] [--quick]
(bash bench/arrow_side_by_side.sh makes the virtualenv and the native library first.)
"""
import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.simplefilter("ignore", DeprecationWarning)
import pyarrow as pa  # noqa: E402
import pyarrow.plasma as plasma  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = {
    "arrow": os.path.join(pa.__path__[0], "plasma-store-server"),
    "ours": os.path.join(ROOT, "bin", "plasma-store-server"),
}
CAPACITY = 3 * 1024**3
SMALL_BYTES = 1024
QUOTA_BYTES = 8 * 1024**2
GIB = 1024**3


class Store:
    """One server process on a fresh socket; stopped with SIGTERM."""

    def __init__(self, name):
        self.directory = tempfile.mkdtemp(prefix="plasma-bench-")
        self.socket = os.path.join(self.directory, "plasma.sock")
        self.process = subprocess.Popen(
            [SERVERS[name], "-m", str(CAPACITY), "-s", self.socket],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while not os.path.exists(self.socket):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{name} store did not start")
            time.sleep(0.01)

    def connect(self):
        return plasma.connect(self.socket, num_retries=50)

    def rss(self):
        """Resident bytes of the store process: total, and private (anonymous) only."""
        fields = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    fields[key] = int(value.split()[0]) * 1024
        return fields["VmRSS"], fields["RssAnon"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Arrow's server leaves its socket file behind; ours removes it.
        shutil.rmtree(self.directory, ignore_errors=True)


def ids(count, salt):
    return [plasma.ObjectID(salt.to_bytes(4, "little") + index.to_bytes(16, "little")) for index in range(count)]


def create_seal_worker(socket, salt, count, barrier, results, quota_bytes=0):
    client = plasma.connect(socket, num_retries=50)
    if quota_bytes:
        client.set_client_options(f"bench-{salt}", quota_bytes)
    object_ids = ids(count, salt)
    payload = np.full(SMALL_BYTES, 7, dtype=np.uint8)
    barrier.wait()
    start = time.perf_counter()
    for object_id in object_ids:
        buffer = client.create(object_id, SMALL_BYTES)
        np.frombuffer(buffer, dtype=np.uint8)[:] = payload
        client.seal(object_id)
        del buffer
    results.put((start, time.perf_counter(), count))
    client.disconnect()


def quota_create_seal_worker(socket, salt, count, barrier, results):
    """create+seal within QUOTA_BYTES: once the quota is full, every create evicts within it."""
    create_seal_worker(socket, salt, count, barrier, results, QUOTA_BYTES)


def get_release_worker(socket, salt, count, barrier, results):
    client = plasma.connect(socket, num_retries=50)
    object_ids = ids(count, salt)
    barrier.wait()
    start = time.perf_counter()
    for object_id in object_ids:
        [buffer] = client.get_buffers([object_id], timeout_ms=0)
        if buffer is None:
            raise SystemExit("object missing")
        del buffer
    results.put((start, time.perf_counter(), count))
    client.disconnect()


def run_clients(store, worker, clients, per_client, salt_base):
    """Runs `clients` processes together; returns total ops per second from first start to last end."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(store.socket, salt_base + index, per_client, barrier, results))
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    spans = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError("a client process failed")
    total = sum(count for _, _, count in spans)
    return total / (max(end for _, end, _ in spans) - min(start for start, _, _ in spans))


def small_objects(store, clients, per_client, salt_base):
    """create+seal of fresh objects, then get+release of the same objects (each client its own)."""
    created = run_clients(store, create_seal_worker, clients, per_client, salt_base)
    got = run_clients(store, get_release_worker, clients, per_client, salt_base)
    return created, got


def large_object(store, source):
    """put of one 1 GiB object (create, copy in, seal) and get (copy every byte out), in GB/s."""
    client = store.connect()
    object_id = plasma.ObjectID.from_random()
    start = time.perf_counter()
    buffer = client.create(object_id, source.size)
    np.copyto(np.frombuffer(buffer, dtype=np.uint8), source)
    client.seal(object_id)
    put = source.size / (time.perf_counter() - start) / 1e9
    del buffer
    sink = np.ones_like(source)  # faulted in before the clock starts
    start = time.perf_counter()
    [buffer] = client.get_buffers([object_id])
    np.copyto(sink, np.frombuffer(buffer, dtype=np.uint8))
    get = source.size / (time.perf_counter() - start) / 1e9
    del buffer
    if not np.array_equal(sink[:: 1 << 20], source[:: 1 << 20]):
        raise RuntimeError("1 GiB object read back wrong")
    client.delete([object_id])
    client.disconnect()
    return put, get


def memory_per_object(store, count, idle_seconds):
    """RSS growth of the store per object after `count` small objects are created and sealed:
    0.5 s after the last one, and again after `idle_seconds` more (V8's memory reducer returns
    heap pages after a while idle; Arrow's store does not change)."""
    client = store.connect()
    time.sleep(0.2)
    before_total, before_anon = store.rss()
    payload = b"x" * 64
    for object_id in ids(count, 999):
        client.create_and_seal(object_id, payload)
    samples = []
    for wait in (0.5, idle_seconds):
        time.sleep(wait)
        after_total, after_anon = store.rss()
        samples.append(((after_total - before_total) / count, (after_anon - before_anon) / count))
    client.disconnect()
    return samples


def memcpy_gbps(source):
    sink = np.empty_like(source)
    np.copyto(sink, source)  # fault the pages in first
    start = time.perf_counter()
    np.copyto(sink, source)
    return source.size / (time.perf_counter() - start) / 1e9


def measure(name, options, source):
    row = {}
    store = Store(name)
    try:
        # Warm-up, untimed and the same for both: JIT compilation in ours, page faults in both.
        small_objects(store, 1, options.small_ops // 4, 50)
        n1 = options.small_ops
        row["create+seal 1 KiB, 1 client (ops/s)"], row["get+release 1 KiB, 1 client (ops/s)"] = small_objects(
            store, 1, n1, 100
        )
        row["create+seal 1 KiB in an 8 MiB quota (ops/s)"] = run_clients(
            store, quota_create_seal_worker, 1, n1, 300
        )
        n8 = options.small_ops // 4
        row["create+seal 1 KiB, 8 clients (ops/s)"], row["get+release 1 KiB, 8 clients (ops/s)"] = small_objects(
            store, 8, n8, 200
        )
        # The first put touches fresh /dev/shm pages; later ones reuse the pages the store freed.
        first_put, first_get = large_object(store, source)
        again = [large_object(store, source) for _ in range(2)]
        row["put 1 GiB, fresh memory (GB/s)"] = first_put
        row["put 1 GiB, memory reused (GB/s)"] = statistics.median(put for put, _ in again)
        row["get 1 GiB (GB/s)"] = statistics.median([first_get] + [get for _, get in again])
    finally:
        store.stop()
    store = Store(name)
    try:
        (total, anon), (idle_total, idle_anon) = memory_per_object(store, options.memory_objects, options.idle)
        row["store RSS per object, 100k objects (bytes)"] = total
        row["  of which private (bytes)"] = anon
        row[f"  same after {options.idle:.0f} s idle (bytes)"] = idle_total
        row[f"  of which private after {options.idle:.0f} s idle (bytes)"] = idle_anon
    finally:
        store.stop()
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small-ops", type=int, default=20_000)
    parser.add_argument("--memory-objects", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=25.0)
    options = parser.parse_args()
    source = np.random.default_rng(1).integers(0, 255, GIB, dtype=np.uint8)
    rows = {"arrow": [], "ours": []}
    references = []
    for round_index in range(options.rounds):
        for name in ("arrow", "ours") if round_index % 2 == 0 else ("ours", "arrow"):
            rows[name].append(measure(name, options, source))
        references.append(memcpy_gbps(source))
    print(f"pyarrow {pa.__version__}; capacity {CAPACITY / GIB:.0f} GiB; {options.rounds} rounds alternating; medians")
    print(f"reference: numpy copy of 1 GiB = {statistics.median(references):.2f} GB/s")
    print(f"{'row':46} {'Arrow C++':>12} {'ours':>12} {'ours/Arrow':>10}")
    for key in rows["arrow"][0]:
        arrow = statistics.median(row[key] for row in rows["arrow"])
        ours = statistics.median(row[key] for row in rows["ours"])
        lower_is_better = "bytes" in key
        ratio = (arrow / ours if ours else float("inf")) if lower_is_better else ours / arrow
        note = " (Arrow/ours: >1 = ours smaller)" if lower_is_better else ""
        print(f"{key:46} {arrow:12.2f} {ours:12.2f} {ratio:10.2f}{note}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

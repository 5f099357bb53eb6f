"""The same pyarrow.plasma workload against Arrow's plasma-store-server and against ours.

Both servers run with the same capacity, one after the other, several rounds alternating, and
each row reports the median of its rounds, the ratio ours / Arrow's (>1 means ours is faster, or
for memory and CPU: uses less) and every round's own ratio, so "ahead in every round" can be read.
Small-object rows run in three conditions:
  - cold: a freshly started store, timed from the first request (no warm-up; 1 and 8 clients each
    get their own fresh store);
  - warm: after an untimed warm-up (a quarter of the 1-client workload);
  - busy: warm, with as many CPU-bound processes running beside as there are cores (started after
    the store, stopped after the rows).
Rows:
  - create+seal and get+release of 1 KiB objects, 1 and 8 client processes (ops/s)
  - create+seal of 1 KiB objects by 1 client within an 8 MiB per-client quota (set_client_options),
    so that past 8 MiB each create first evicts the client's oldest object (ops/s)
  - store CPU per operation (utime+stime of the whole store process from /proc/PID/stat over the
    row, spinning and idle waits included) and client CPU per operation (getrusage of the clients)
  - put (create, fill, seal) and get (read every byte) of one 1 GiB object (GB/s), three times
    (the first into fresh memory), next to numpy's copy of the same bytes (warm only)
  - store memory per object: RSS growth of the store process with 100k small objects (64 bytes
    each, created with create_and_seal), 0.5 s after the last and again after 25 s idle (warm only);
    with --memory-warmup N also in a store that first served N create_and_seal+delete pairs, so the
    growth every fresh store shows on its first requests (JIT code, heap, malloc arenas: ~28 MB in
    ours, whatever the objects) is not charged to the objects

Usage: .venv/bin/python bench/arrow_side_by_side.py [--rounds 3] [--conditions cold,warm,busy]
       [--rows small,large,memory] [--small-ops 20000] [--variant NAME=[bin:PATH;]ENV=VALUE[;ENV=VALUE]]
A quick look at one condition: --rows small --conditions busy --small-ops 4000 --rounds 3.
--variant adds another configuration of our store (same binary, extra environment), e.g. to
compare event-loop waiting strategies in the same run; with bin:PATH it runs PATH instead (another
checkout's bin/plasma-store-server), to compare with older code in the same rounds.
(bash bench/arrow_side_by_side.sh makes the virtualenv and the native library first.)
"""
import argparse
import multiprocessing
import os
import resource
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
BINARIES = {
    "arrow": os.path.join(pa.__path__[0], "plasma-store-server"),
    "ours": os.path.join(ROOT, "bin", "plasma-store-server"),
}
CAPACITY = 3 * 1024**3
SMALL_BYTES = 1024
QUOTA_BYTES = 8 * 1024**2
GIB = 1024**3
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
CONDITIONS = ("cold", "warm", "busy")
ROW_GROUPS = ("small", "large", "memory")


class Store:
    """One server process on a fresh socket; stopped with SIGTERM."""

    def __init__(self, binary, environment):
        self.directory = tempfile.mkdtemp(prefix="plasma-bench-")
        self.socket = os.path.join(self.directory, "plasma.sock")
        self.process = subprocess.Popen(
            [binary, "-m", str(CAPACITY), "-s", self.socket],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **environment},
        )
        deadline = time.time() + 60
        while not os.path.exists(self.socket):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{binary} did not start")
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

    def cpu_seconds(self):
        """utime + stime of the whole store process (every thread), from /proc/PID/stat."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Arrow's server leaves its socket file behind; ours removes it.
        shutil.rmtree(self.directory, ignore_errors=True)


class BusyLoad:
    """As many CPU-bound processes as there are cores, each spinning in pure Python; killed by pid."""

    def __init__(self):
        count = os.cpu_count() or 1
        self.processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]

    def stop(self):
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()


def ids(count, salt):
    return [plasma.ObjectID(salt.to_bytes(4, "little") + index.to_bytes(16, "little")) for index in range(count)]


def client_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def create_seal_worker(socket, salt, count, barrier, results, quota_bytes=0):
    client = plasma.connect(socket, num_retries=50)
    if quota_bytes:
        client.set_client_options(f"bench-{salt}", quota_bytes)
    object_ids = ids(count, salt)
    payload = np.full(SMALL_BYTES, 7, dtype=np.uint8)
    barrier.wait()
    cpu = client_cpu_seconds()
    start = time.perf_counter()
    for object_id in object_ids:
        buffer = client.create(object_id, SMALL_BYTES)
        np.frombuffer(buffer, dtype=np.uint8)[:] = payload
        client.seal(object_id)
        del buffer
    results.put((start, time.perf_counter(), count, client_cpu_seconds() - cpu))
    client.disconnect()


def quota_create_seal_worker(socket, salt, count, barrier, results):
    """create+seal within QUOTA_BYTES: once the quota is full, every create evicts within it."""
    create_seal_worker(socket, salt, count, barrier, results, QUOTA_BYTES)


def get_release_worker(socket, salt, count, barrier, results):
    client = plasma.connect(socket, num_retries=50)
    object_ids = ids(count, salt)
    barrier.wait()
    cpu = client_cpu_seconds()
    start = time.perf_counter()
    for object_id in object_ids:
        [buffer] = client.get_buffers([object_id], timeout_ms=0)
        if buffer is None:
            raise SystemExit("object missing")
        del buffer
    results.put((start, time.perf_counter(), count, client_cpu_seconds() - cpu))
    client.disconnect()


def run_clients(store, worker, clients, per_client, salt_base):
    """Runs `clients` processes together; returns (ops/s from first start to last end,
    store CPU us per op over the same run, client CPU us per op)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients)
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(store.socket, salt_base + index, per_client, barrier, results))
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    # The store's CPU is read around the whole run: connects and the barrier are a small part of it.
    store_cpu = store.cpu_seconds()
    spans = [results.get(timeout=600) for _ in processes]
    store_cpu = store.cpu_seconds() - store_cpu
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError("a client process failed")
    total = sum(span[2] for span in spans)
    rate = total / (max(span[1] for span in spans) - min(span[0] for span in spans))
    return rate, store_cpu / total * 1e6, sum(span[3] for span in spans) / total * 1e6


def small_rows(store, clients, per_client, salt_base):
    """create+seal of fresh objects, then get+release of the same objects (each client its own)."""
    row = {}
    suffix = f"{clients} client{'s' if clients > 1 else ''}"
    for label, worker in (("create+seal", create_seal_worker), ("get+release", get_release_worker)):
        rate, store_us, client_us = run_clients(store, worker, clients, per_client, salt_base)
        row[f"{label} 1 KiB, {suffix} (ops/s)"] = rate
        row[f"  store CPU per {label}, {suffix} (us)"] = store_us
        row[f"  client CPU per {label}, {suffix} (us)"] = client_us
    return row


def quota_rows(store, per_client, salt_base):
    """create+seal by one client within QUOTA_BYTES (every create past the quota evicts first)."""
    rate, store_us, client_us = run_clients(store, quota_create_seal_worker, 1, per_client, salt_base)
    return {
        "create+seal 1 KiB in an 8 MiB quota (ops/s)": rate,
        "  store CPU per create+seal in the quota (us)": store_us,
        "  client CPU per create+seal in the quota (us)": client_us,
    }


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


def large_rows(store, source):
    # The first put touches fresh /dev/shm pages; later ones reuse the pages the store freed.
    first_put, first_get = large_object(store, source)
    again = [large_object(store, source) for _ in range(2)]
    return {
        "put 1 GiB, fresh memory (GB/s)": first_put,
        "put 1 GiB, memory reused (GB/s)": statistics.median(put for put, _ in again),
        "get 1 GiB (GB/s)": statistics.median([first_get] + [get for _, get in again]),
    }


def memory_rows(store, count, idle_seconds, warmup=0):
    """RSS growth of the store per object after `count` small objects are created and sealed:
    0.5 s after the last one, and again after `idle_seconds` more (V8's memory reducer returns
    heap pages after a while idle; Arrow's store does not change)."""
    client = store.connect()
    payload = b"x" * 64
    for object_id in ids(warmup, 998):
        client.create_and_seal(object_id, payload)
        client.delete([object_id])
    time.sleep(0.2)
    before_total, before_anon = store.rss()
    for object_id in ids(count, 999):
        client.create_and_seal(object_id, payload)
    samples = []
    for wait in (0.5, idle_seconds):
        time.sleep(wait)
        after_total, after_anon = store.rss()
        samples.append(((after_total - before_total) / count, (after_anon - before_anon) / count))
    client.disconnect()
    (total, anon), (idle_total, idle_anon) = samples
    after = f" after {warmup // 1000}k warm-up pairs" if warmup else ""
    return {
        f"store RSS per object, {count // 1000}k objects{after} (bytes)": total,
        f"  of which private, {count // 1000}k{after} (bytes)": anon,
        f"  same after {idle_seconds:.0f} s idle, {count // 1000}k{after} (bytes)": idle_total,
        f"  of which private after {idle_seconds:.0f} s idle, {count // 1000}k{after} (bytes)": idle_anon,
    }


def memcpy_gbps(source):
    sink = np.empty_like(source)
    np.copyto(sink, source)  # fault the pages in first
    start = time.perf_counter()
    np.copyto(sink, source)
    return source.size / (time.perf_counter() - start) / 1e9


def with_store(server, work):
    store = Store(*server)
    try:
        return work(store)
    finally:
        store.stop()


def measure_small(server, condition, options):
    """The small-object rows of one condition, each key prefixed with the condition."""
    n1, n8 = options.small_ops, options.small_ops // 4

    def quotas(store, count):  # code from before quotas existed waits forever on set_client_options
        return {} if options.skip_quota else quota_rows(store, count, 300)
    if condition == "cold":
        row = with_store(server, lambda store: {**small_rows(store, 1, n1, 100), **quotas(store, n1)})
        row.update(with_store(server, lambda store: small_rows(store, 8, n8, 200)))
    else:

        def warm(store):
            load = BusyLoad() if condition == "busy" else None
            try:
                small_rows(store, 1, n1 // 4, 50)  # untimed: JIT compilation in ours, page faults in both
                one = {**small_rows(store, 1, n1, 100), **quotas(store, n1)}
                return {**one, **small_rows(store, 8, n8, 200)}
            finally:
                if load:
                    load.stop()

        row = with_store(server, warm)
    return {f"{condition}: {key.strip()}" if not key.startswith("  ") else f"  {condition}: {key.strip()}": value
            for key, value in row.items()}


def measure(server, options, source):
    row = {}
    for condition in options.conditions:
        row.update(measure_small(server, condition, options))
    if "large" in options.rows:
        row.update(with_store(server, lambda store: large_rows(store, source)))
    if "memory" in options.rows:
        for count in options.memory_objects:
            row.update(with_store(server, lambda store: memory_rows(store, count, options.idle)))
            if options.memory_warmup:
                row.update(with_store(server, lambda store: memory_rows(store, count, options.idle, options.memory_warmup)))
    return row


def parse_servers(variants):
    """arrow and ours, plus each --variant NAME=[bin:PATH;]ENV=VALUE[;ENV=VALUE]: ours (or PATH) with that environment."""
    servers = {"arrow": (BINARIES["arrow"], {}), "ours": (BINARIES["ours"], {})}
    for variant in variants:
        name, _, settings = variant.partition("=")
        binary = BINARIES["ours"]
        if settings.startswith("bin:"):  # another checkout's server, e.g. to compare with older code
            binary, _, settings = settings[len("bin:"):].partition(";")
        environment = dict(setting.split("=", 1) for setting in settings.split(";") if setting)
        servers[name] = (binary, environment)
    return servers


def report(rows, options, references):
    names = list(rows)
    print(f"pyarrow {pa.__version__}; capacity {CAPACITY / GIB:.0f} GiB; {options.rounds} rounds alternating; medians")
    print(f"cores {os.cpu_count()}; load average at the end {' '.join(open('/proc/loadavg').read().split()[:3])}")
    if references:
        print(f"reference: numpy copy of 1 GiB = {statistics.median(references):.2f} GB/s")
    others = names[1:]
    header = "".join(f"{name:>12}" for name in names) + "".join(f"{name + '/arrow':>14}" for name in others)
    print(f"{'row':52}{header}  per-round {'/'.join(others)}/arrow")
    for key in rows["arrow"][0]:
        medians = {name: statistics.median(row[key] for row in rows[name]) for name in names}
        lower_is_better = "bytes" in key or "(us)" in key
        cells = "".join(f"{medians[name]:12.2f}" for name in names)
        ratios, rounds = "", []
        for name in others:
            ratios += f"{ratio(medians['arrow'], medians[name], lower_is_better):14.2f}"
            per_round = [ratio(a[key], b[key], lower_is_better) for a, b in zip(rows["arrow"], rows[name])]
            rounds.append(" ".join(f"{value:.2f}" for value in per_round) + f" (min {min(per_round):.2f})")
        print(f"{key:52}{cells}{ratios}  {' | '.join(rounds)}")
    print("ratios: >1 = ours better (faster, or for bytes and us: smaller)")
    sys.stdout.flush()


def ratio(arrow, ours, lower_is_better):
    if lower_is_better:
        return arrow / ours if ours else float("inf")
    return ours / arrow if arrow else float("inf")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small-ops", type=int, default=20_000)
    parser.add_argument("--memory-objects", default="100000", help="comma list of object counts")
    parser.add_argument("--memory-warmup", type=int, default=0, help="create+delete pairs before the memory rows")
    parser.add_argument("--idle", type=float, default=25.0)
    parser.add_argument("--skip-quota", action="store_true", help="no quota row (to compare with code without quotas)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma list of cold,warm,busy")
    parser.add_argument("--rows", default=",".join(ROW_GROUPS), help="comma list of small,large,memory")
    parser.add_argument("--variant", action="append", default=[], help="NAME=ENV=VALUE[;ENV=VALUE]")
    options = parser.parse_args()
    options.conditions = [c for c in options.conditions.split(",") if c] if "small" in options.rows else []
    options.rows = options.rows.split(",")
    options.memory_objects = [int(count) for count in options.memory_objects.split(",")]
    if not set(options.conditions) <= set(CONDITIONS) or not set(options.rows) <= set(ROW_GROUPS):
        parser.error(f"--conditions takes {','.join(CONDITIONS)}; --rows takes {','.join(ROW_GROUPS)}")
    servers = parse_servers(options.variant)
    source = np.random.default_rng(1).integers(0, 255, GIB, dtype=np.uint8) if "large" in options.rows else None
    rows = {name: [] for name in servers}
    references = []
    for round_index in range(options.rounds):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for name in order:
            rows[name].append(measure(servers[name], options, source))
        if source is not None:
            references.append(memcpy_gbps(source))
    report(rows, options, references)


if __name__ == "__main__":
    main()

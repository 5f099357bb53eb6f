"""Where a store's CPU goes per small operation, thread by thread, for one pyarrow.plasma client.

Runs Arrow's plasma-store-server and ours (and any other variant: an older checkout, or ours
with another loop strategy) one after the other, rounds alternating in order, each store fresh
and warmed up with 3,000 untimed create+seal+get+contains. Then one client times N create+seal
(Arrow's client also releases after the seal), N get+release and N contains, and the store's CPU
over each phase is read from /proc/PID/task/*/stat and split into:
  - loop user / loop sys: the thread that serves requests (ours: the store Worker's thread;
    Arrow's: its one thread), in user space and in the kernel;
  - other: every other thread (ours: V8's GC and compiler helpers, the runtime's threads);
  - loop wait: how long the serving thread was runnable but waited for a CPU
    (/proc/PID/task/TID/schedstat), which is what a busy machine adds to each wake-up.
Each row prints medians over the rounds (us per op, ops/s) and every round's ops/s; the stolen
CPU share of each round (/proc/stat) is printed as the rounds run. With BUSY=K in the
environment, K CPU-bound processes run beside for the whole run.

Usage: .venv/bin/python bench/arrow_thread_cpu.py ROUNDS N NAME=WHAT[:PLASMA_LOOP_WAIT] ...
  WHAT: `arrow` (pyarrow's server), or a checkout's root (its bin/plasma-store-server)
  e.g.  .venv/bin/python bench/arrow_thread_cpu.py 6 10000 arrow=arrow ours=. block=.:block,0,2
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import pyarrow as pa  # noqa: E402
import pyarrow.plasma as plasma  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
LOOP_THREADS = ("worker-1", "plasma-store-se")
WARMUP_CYCLES = 3000


def parse_variant(text):
    name, what = text.split("=", 1)
    what, _, loop_wait = what.partition(":")
    binary = (
        os.path.join(pa.__path__[0], "plasma-store-server")
        if what == "arrow"
        else os.path.join(os.path.abspath(what), "bin", "plasma-store-server")
    )
    return name, binary, loop_wait


def thread_ticks(pid):
    """{tid: (name, utime ticks, stime ticks, run-queue wait ns)} of every thread of `pid`."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                text = stat.read()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as schedstat:
                waited_ns = int(schedstat.read().split()[1])
        except FileNotFoundError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        threads[tid] = (text[text.index("(") + 1 : text.rindex(")")], int(fields[11]), int(fields[12]), waited_ns)
    return threads


def split_ticks(before, after):
    """(loop user ticks, loop sys ticks, other ticks, loop wait ns) between two thread_ticks readings."""
    loop_user = loop_sys = other = loop_wait = 0
    for tid, (name, user, system, waited) in after.items():
        _, user0, system0, waited0 = before.get(tid, (name, 0, 0, 0))
        if name in LOOP_THREADS:
            loop_user += user - user0
            loop_sys += system - system0
            loop_wait += waited - waited0
        else:
            other += (user - user0) + (system - system0)
    return loop_user, loop_sys, other, loop_wait


def stolen_ticks():
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    return fields[7], sum(fields)


def run_store(binary, loop_wait, count, rows):
    environment = dict(os.environ)
    if loop_wait:
        environment["PLASMA_LOOP_WAIT"] = loop_wait
    directory = tempfile.mkdtemp(prefix="plasma-thread-cpu-")
    socket = os.path.join(directory, "plasma.sock")
    store = subprocess.Popen([binary, "-m", str(1 << 30), "-s", socket], env=environment,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not os.path.exists(socket):
            if time.time() > deadline or store.poll() is not None:
                raise RuntimeError(f"{binary} did not start")
            time.sleep(0.01)
        client = plasma.connect(socket, num_retries=50)
        for _ in range(WARMUP_CYCLES):
            object_id = plasma.ObjectID(os.urandom(20))
            buffer = client.create(object_id, 1024)
            client.seal(object_id)
            del buffer
            [buffer] = client.get_buffers([object_id], timeout_ms=0)
            del buffer
            client.contains(object_id)
        object_ids = [plasma.ObjectID(os.urandom(20)) for _ in range(count)]

        def create_seal():
            for object_id in object_ids:
                buffer = client.create(object_id, 1024)
                client.seal(object_id)
                del buffer

        def get_release():
            for object_id in object_ids:
                [buffer] = client.get_buffers([object_id], timeout_ms=0)
                del buffer

        def contains():
            for object_id in object_ids:
                client.contains(object_id)

        for label, phase in (("create+seal", create_seal), ("get+release", get_release), ("contains", contains)):
            before, start, usage = thread_ticks(store.pid), time.perf_counter(), os.times()
            phase()
            seconds, after, used = time.perf_counter() - start, thread_ticks(store.pid), os.times()
            *ticks, waited_ns = split_ticks(before, after)
            loop_user, loop_sys, other = (each / TICKS * 1e6 / count for each in ticks)
            client_us = (used.user - usage.user + used.system - usage.system) * 1e6 / count
            rows.setdefault(label, []).append((count / seconds, loop_user + loop_sys + other, loop_user, loop_sys,
                                              other, client_us, waited_ns / 1e3 / count))
        client.disconnect()
    finally:
        store.terminate()
        store.wait()


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    rounds, count = int(sys.argv[1]), int(sys.argv[2])
    variants = [parse_variant(text) for text in sys.argv[3:]]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(int(os.environ.get("BUSY", "0")))]
    results = {name: {} for name, _, _ in variants}
    try:
        for round_index in range(rounds):
            for name, binary, loop_wait in variants if round_index % 2 == 0 else variants[::-1]:
                stolen0, total0 = stolen_ticks()
                run_store(binary, loop_wait, count, results[name])
                stolen1, total1 = stolen_ticks()
                print(f"round {round_index} {name}: {100 * (stolen1 - stolen0) / max(1, total1 - total0):.1f}% stolen",
                      flush=True)
    finally:
        for process in busy:
            process.kill()
    print(f"{'row':12} {'variant':10} {'ops/s':>8} {'store CPU':>9} {'loop user':>9} {'loop sys':>8} {'other':>6}"
          f" {'client':>6} {'loop wait':>9}   (medians, us per op; then each round's ops/s)")
    for label in ("create+seal", "get+release", "contains"):
        for name, _, _ in variants:
            rows = results[name][label]
            median = [statistics.median(row[column] for row in rows) for column in range(7)]
            print(f"{label:12} {name:10} {median[0]:8.0f} {median[1]:9.1f} {median[2]:9.1f} {median[3]:8.1f}"
                  f" {median[4]:6.1f} {median[5]:6.1f} {median[6]:9.1f}   " + " ".join(f"{row[0]:.0f}" for row in rows))


if __name__ == "__main__":
    main()

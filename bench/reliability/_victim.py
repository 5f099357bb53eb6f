"""A pyarrow client that the kill test SIGKILLs at a random moment: `_victim.py SOCKET SEED ID_HEX...`.

It subscribes, holds unsealed creates and references to the shared objects, and nothing that
outlives it, so after its death the store must be back at its baseline.
"""
import random
import sys
import warnings

warnings.simplefilter("ignore")
import pyarrow.plasma as plasma  # noqa: E402


def main():
    socket_path, seed, *shared_hex = sys.argv[1:]
    rng = random.Random(int(seed))
    shared = [plasma.ObjectID(bytes.fromhex(value)) for value in shared_hex]
    client = plasma.connect(socket_path)
    if rng.random() < 0.5:
        client.subscribe()
    step = 0
    while True:
        choice = rng.random()
        if choice < 0.4:
            client.create(plasma.ObjectID.from_random(), rng.randint(1, 256 * 1024))
        elif choice < 0.8 and shared:
            client.get_buffers([rng.choice(shared)], timeout_ms=0)
        else:
            client.contains(plasma.ObjectID.from_random())
        step += 1
        if step == 20:
            print("ready", flush=True)


if __name__ == "__main__":
    main()

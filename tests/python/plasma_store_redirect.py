"""pytest plugin: makes pyarrow.plasma.start_plasma_store run our store instead of Arrow's.

start_plasma_store builds the command [<site-packages>/pyarrow/plasma-store-server, -s, ..., -m, ...]
and hands it to subprocess.Popen; this plugin swaps only the executable for bin/plasma-store-server
(or $PLASMA_STORE_SERVER), so everything else pyarrow's tests do stays exactly as written.
Use: PYTHONPATH=tests/python python -m pytest -p plasma_store_redirect --pyargs pyarrow.tests.test_plasma
"""
import os
import subprocess
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.environ.get("PLASMA_STORE_SERVER", os.path.join(ROOT, "bin", "plasma-store-server"))


class _RedirectedPopen(subprocess.Popen):
    def __init__(self, args, *rest, **options):
        if isinstance(args, list) and args and os.path.basename(args[0]) == "plasma-store-server":
            args = [LAUNCHER, *args[1:]]
        super().__init__(args, *rest, **options)


def pytest_configure(config):
    import pyarrow.plasma

    redirected = types.SimpleNamespace(**vars(subprocess))
    redirected.Popen = _RedirectedPopen
    pyarrow.plasma.subprocess = redirected

"""Pane output -> transcript file, with size-capped rotation.

Run by tmux ``pipe-pane`` as ``python -I _transcript_writer.py <path> <max_bytes> <keep>``.
It is a standalone script on purpose: ``-I`` (isolated mode) and no package
import keep its start-up at a few milliseconds and its footprint small, since
one runs per agent session.  It reads the pane's output from stdin until the
pane closes.  When the file would grow past ``max_bytes`` it is renamed to
``<path>.1`` (older ones shift to ``.2`` .. ``.<keep>``, the oldest is
dropped) and a fresh file is started, so a transcript never exceeds
``max_bytes * (keep + 1)`` (files are cut at a line break when one falls
within the cap) on disk.
"""

import fcntl
import os
import sys


def rotate(path: str, keep: int) -> None:
    if keep <= 0:
        os.truncate(path, 0)
        return
    for i in range(keep - 1, 0, -1):
        older = f"{path}.{i}"
        if os.path.exists(older):
            os.replace(older, f"{path}.{i + 1}")
    if os.path.exists(path):
        os.replace(path, f"{path}.1")


def main(argv: list[str]) -> int:
    path, max_bytes, keep = argv[0], int(argv[1]), int(argv[2])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    # After a respawn the previous writer may still be draining its pipe:
    # wait for it (tmux buffers our input meanwhile) so output stays in order.
    lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    size = os.fstat(fd).st_size
    while True:
        try:
            data = os.read(0, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        while data:
            room = max_bytes - size
            if len(data) <= room:
                os.write(fd, data)
                size += len(data)
                break
            # Fill the file up to the cap, ending on a line break when there
            # is one, then start the next file with the rest.
            cut = data.rfind(b"\n", 0, max(room, 0)) + 1
            if cut == 0 and size == 0:
                cut = max_bytes
            if cut:
                os.write(fd, data[:cut])
            data = data[cut:]
            os.close(fd)
            rotate(path, keep)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            size = os.fstat(fd).st_size
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

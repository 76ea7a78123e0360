"""A child process for crash tests: sends and deletes through a queue partition on a FileLog
(:func:`raybus.partitions.open_queue`, every call committed before it returns) and prints each
acknowledgement (``sent <body>`` / ``deleted <body>``) only after the call returned, and each
received body (``received <body>``) before deleting it, so the parent knows which delete may have
been in flight when it SIGKILLs the child at a random moment and checks the log."""

from __future__ import annotations

import sys

from raybus.core import QueueConfig, SystemClock
from raybus.engines import SendEntry
from raybus.engines.queue.ops import Delete, Receive, Send
from raybus.partitions import CheckpointPolicy, open_queue
from raybus.storage import FileLog


def main(directory: str, fifo: bool) -> None:
    config = QueueConfig.create("crash.fifo" if fifo else "crash", visibility_timeout_s=600)
    log = FileLog(directory, segment_bytes=256 * 1024)
    queue = open_queue(
        config, log, tag=11, checkpoint=CheckpointPolicy(min_checkpoint_bytes=512 * 1024)
    )
    clock = SystemClock()
    out = sys.stdout
    n = 0
    while True:  # runs until killed
        batch = [f"m{n + i}" for i in range(10)]
        n += 10
        entries = [
            SendEntry(b.encode(), group_id="g", dedup_id=b) if fifo else SendEntry(b) for b in batch
        ]
        queue.run(Send(entries), clock.now_ms())
        out.write("".join(f"sent {b}\n" for b in batch))
        received = queue.run(Receive(4), clock.now_ms())
        out.write("".join(f"received {m.body.decode()}\n" for m in received))
        out.flush()
        queue.run(Delete([m.receipt for m in received]), clock.now_ms())
        out.write("".join(f"deleted {m.body.decode()}\n" for m in received))
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "fifo")

"""The interpreter tuned for a bulk job (a crisis-list import) while it runs: ``with bulkjob.tuned() as c``.

Such a job allocates millions of short-lived objects, batch by batch, in threads that share one interpreter
lock (the import's reader, planner and writer). Two defaults of CPython cost it dearly, measured on the
import bench (bench/README.md):

- **Cyclic garbage collection.** The automatic collector runs a young collection every 700 allocations
  and, as each batch's objects live long enough to reach the old generation, full collections over all
  the process holds: a fifth of the job's Python time. While ``tuned()`` is held the automatic collector
  is off; the job calls ``c.batch_done()`` after each batch, which every ``young_every`` batches collects
  the young generations (a collection costs about what is alive then, the batches in flight, so rarer ones
  cost less in all) and every ``full_every`` batches everything: cyclic garbage is still freed, and memory
  stays bounded by the batch size, not by the file.
- **The switch interval** (5 ms): a thread whose database answer has arrived waits up to that long for the
  lock while another thread parses. The writer thread does a dozen round trips per batch, so ``tuned()``
  lowers it to 1 ms.

Both are settings of the whole process: they are counted, so two jobs in one process (threads) restore
them only when the last one ends, to what they were before the first.
"""
from __future__ import annotations

import contextlib
import gc
import sys
import threading

SWITCH_INTERVAL = 0.001

_lock = threading.Lock()
_holders = 0
_saved: tuple[bool, float] = (True, 0.005)


@contextlib.contextmanager
def tuned():
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(min(SWITCH_INTERVAL, _saved[1]))
        _holders += 1
    try:
        yield BatchCollector()
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                if _saved[0]:
                    gc.enable()
                sys.setswitchinterval(_saved[1])


class BatchCollector:
    def __init__(self, young_every: int = 5, full_every: int = 50):
        self.young_every, self.full_every = young_every, full_every
        self.batches = 0

    def batch_done(self) -> None:
        self.batches += 1
        if self.batches % self.full_every == 0:
            gc.collect()
        elif self.batches % self.young_every == 0:
            gc.collect(1)

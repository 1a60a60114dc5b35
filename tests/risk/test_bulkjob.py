"""The interpreter settings a bulk job runs with (volnet.core.bulkjob), and that the import uses them."""
import gc
import sys
import threading
import weakref

from tests.risk import builders as rb
from volnet.core import bulkjob
from volnet.risk import importer


class Node:
    def __init__(self):
        self.other = self


def _cycle():
    """A cyclic garbage object (only the collector frees it) and a weak reference to watch it."""
    n = Node()
    ref = weakref.ref(n)
    del n
    return ref


def test_tuned_turns_automatic_collection_off_and_restores_it():
    before = sys.getswitchinterval()
    assert gc.isenabled()
    with bulkjob.tuned():
        assert not gc.isenabled()
        assert sys.getswitchinterval() == min(bulkjob.SWITCH_INTERVAL, before)
        with bulkjob.tuned():      # a second job in the same process (another thread)
            pass
        assert not gc.isenabled()  # still held by the first
    assert gc.isenabled() and sys.getswitchinterval() == before


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with bulkjob.tuned():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_two_jobs_in_threads_restore_the_settings_when_the_last_ends():
    first_in, second_done = threading.Event(), threading.Event()
    seen = []

    def first():
        with bulkjob.tuned():
            first_in.set()
            second_done.wait(10)
            seen.append(gc.isenabled())  # the second job ended meanwhile: still off for this one

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(10)
    with bulkjob.tuned():
        pass
    second_done.set()
    t.join()
    assert seen == [False] and gc.isenabled()


def test_batches_free_cyclic_garbage_as_they_go():
    with bulkjob.tuned() as c:
        young = _cycle()
        for _ in range(c.young_every):  # a young collection within young_every batches
            c.batch_done()
        assert young() is None
        alive = Node()                  # a batch in flight: it survives a young collection...
        old = weakref.ref(alive)
        gc.collect(1)
        del alive                       # ...into the old generation, and then becomes garbage
        for _ in range(c.young_every):
            c.batch_done()
        assert old() is not None        # young collections leave the old generation alone...
        for _ in range(c.full_every):   # ...the next full collection frees it
            c.batch_done()
        assert old() is None


def test_an_import_runs_tuned_and_leaves_the_interpreter_as_it_was(client, staff, monkeypatch):
    d, _u = staff
    real, during = importer.Importer.plan, []

    def plan(self, batch):
        during.append(gc.isenabled())
        return real(self, batch)

    monkeypatch.setattr(importer.Importer, "plan", plan)
    r = rb.import_file(client, d, rb.csv_bytes([rb.person(i) for i in range(1, 4)]))
    assert r.status == "done" and during == [False]
    assert gc.isenabled()

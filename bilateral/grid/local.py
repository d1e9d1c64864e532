"""The local backend: a grid's runs in a pool of worker processes on this machine."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from bilateral.grid.run import run_reporting


class Tally:
    """Results of runs as they end (appended to ``results``), and a progress bar of the grid's runs:
    done, failed and running, with tqdm's elapsed time and ETA. Used by both backends."""

    def __init__(self, results: list[dict], pending: int, skipped: int, desc: str, progress: bool) -> None:
        from tqdm.auto import tqdm

        self.results = results
        self.counts = {"finished": 0, "failed": 0}
        self.bar = tqdm(total=pending + skipped, initial=skipped, desc=desc, unit="run", disable=not progress)

    def record(self, result: dict, running: int) -> None:
        self.results.append(result)
        self.counts[result["status"]] = self.counts.get(result["status"], 0) + 1
        self.bar.update()
        self.bar.set_postfix(done=self.counts["finished"], failed=self.counts["failed"], running=running)

    def close(self) -> None:
        self.bar.close()


def run_local(pending, root, budget, tally: Tally, *, workers: int, max_retries: int) -> None:
    """Run ``pending`` in a process pool, recording each run's result in ``tally`` as it ends.

    At most ``workers`` runs are in flight. If a worker process dies (killed, out of memory), the pool
    breaks and the runs in flight are lost (their checkpoints are not); the one that died cannot be
    told from the one beside it, so each of them is then run alone, and a run that dies alone is
    tried again up to ``max_retries`` times before it is reported as failed. The others go on.
    """
    if workers <= 1:
        for spec in pending:
            tally.record(run_reporting(spec, str(root), budget), running=0)
        return
    queue = list(pending)
    while queue:
        suspects, queue = _in_pool(queue, workers, root, budget, tally)
        for spec in suspects:
            for attempt in range(1, max_retries + 2):
                if not _in_pool([spec], 1, root, budget, tally)[0]:
                    break
                if attempt > max_retries:
                    error = f"its worker process died {attempt} times when it ran alone"
                    tally.record({"key": spec.key, "status": "failed", "error": error}, running=0)


def _in_pool(specs, workers, root, budget, tally: Tally) -> tuple[list, list]:
    """Run ``specs`` in a fresh pool of ``workers`` processes, recording results in ``tally`` as they come.

    Returns the runs that were in flight when a worker process died, and those not started then.
    """
    queue, futures, lost, broken = list(specs), {}, [], False
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        while queue or futures:
            while not broken and queue and len(futures) < workers:
                try:
                    futures[pool.submit(run_reporting, queue[0], str(root), budget)] = queue[0]
                    queue.pop(0)
                except BrokenProcessPool:
                    broken = True
            if not futures:
                break
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                spec = futures.pop(future)
                try:
                    tally.record(future.result(), running=len(futures))
                except BrokenProcessPool:
                    broken = True
                    lost.append(spec)
    return lost, queue

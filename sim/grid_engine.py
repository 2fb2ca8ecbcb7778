"""Where a grid's chunks run (``sweep.engine``), and the chunk store that makes them resumable.

:func:`sim.grid.run_grid` plans a grid into chunks (:class:`sim.grid.Job`); this module
runs the chunks that are not yet stored and gives back every chunk's tables:

- ``local``: in this process (``sweep.workers=1``) or in ``sweep.workers`` local
  processes (the default);
- ``ray``: one Ray task per chunk, on a local Ray of ``sweep.workers`` CPUs, or on the
  running cluster at ``sweep.ray_address``;
- ``submitit``: one submitit job per chunk (``sweep.submitit.cluster``: ``local``
  subprocesses, ``slurm``, or ``debug``, in this process).

The chunk store is ``<run folder>/.chunks/``: one folder ``chunk-<n>`` per finished chunk
(``chunk.json``: its key, indices, metric rows and replicate keys; ``values.parquet``: the
replicate values; ``rounds.parquet``: the per-round columns), built under a temporary name
and renamed into place, so a chunk is there whole or not at all. A chunk's key hashes the
config hashes of its points, their indices and ``sweep.rounds``: a chunk of another grid,
another config or another chunking never matches and is recomputed. A chunk folder that
is unreadable, whose files do not match the checksums in its ``chunk.json``, or whose key
does not match, is recomputed (with a note on stderr), never trusted. The local and
submitit engines have each worker store its chunk as soon as it is done (submitit's
workers share the run folder's filesystem); the Ray engine stores what its tasks return.
Remote workers (Ray, SLURM) must be able to import what the chunks' parameters refer to:
this package and any plug-in (an entry point, or a module on their ``PYTHONPATH``); local
submitit jobs are given this process's ``sys.path``.
:meth:`sim.grid.GridResults.save` removes the store once the folder is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import _int  # the one integer check: "key=value must be an integer >= 1"
from sim.errors import ConfigError
from sim.outdir import CHUNKS

ENGINES = ("local", "ray", "submitit")
CLUSTERS = ("local", "slurm", "debug")
STORE = CHUNKS
"""The chunk store's folder inside a grid's run folder."""
FORMAT = 1


def check_engine(sweep: Mapping[str, Any]) -> None:
    """Check the grid's ``sweep.*`` keys: chunk, workers, engine, ray_address, submitit.

    Raises:
        ConfigError: one line naming the bad key, or the missing extra the engine needs.
    """
    for key in ("chunk", "workers"):
        _int(f"sweep.{key}", sweep[key], 1)
    engine = sweep.get("engine", "local")
    if engine not in ENGINES:
        raise ConfigError(f"sweep.engine={engine!r} must be one of {', '.join(ENGINES)}")
    address = sweep.get("ray_address")
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ConfigError(
            f"sweep.ray_address={address!r} must be a Ray address (host:port, "
            "ray://host:port or auto) or null (a local Ray)"
        )
    sub = sweep.get("submitit") or {}
    cluster = sub.get("cluster", "local")
    if cluster not in CLUSTERS:
        raise ConfigError(
            f"sweep.submitit.cluster={cluster!r} must be one of {', '.join(CLUSTERS)}"
        )
    for key in ("timeout_min", "cpus_per_task", "array_parallelism"):
        _int(f"sweep.submitit.{key}", sub.get(key, 1), 1)
    mem = sub.get("mem_gb")
    if mem is not None and (isinstance(mem, bool) or not isinstance(mem, int | float) or mem <= 0):
        raise ConfigError(f"sweep.submitit.mem_gb={mem!r} must be a number > 0 or null")
    partition = sub.get("partition")
    if partition is not None and (not isinstance(partition, str) or not partition.strip()):
        raise ConfigError(f"sweep.submitit.partition={partition!r} must be a name or null")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError("sweep.engine=ray needs the ray extra: pip install -e '.[ray]'")
    if engine == "submitit" and importlib.util.find_spec("submitit") is None:
        raise ConfigError("sweep.engine=submitit needs submitit: pip install -e '.[slurm]'")


# --- a chunk's tables, in the form the store keeps them ------------------------------------


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def encode(tables: tuple) -> dict[str, Any]:
    """A chunk's tables (:func:`sim.grid._chunk_tables`) as JSON-able rows and arrays."""
    met, reps, rounds = tables
    values = [np.asarray(r[3]) for r in reps]
    return {
        "metrics": [[_plain(x) for x in row] for row in met],
        "replicates": [
            [_plain(p), ph, m, int(v.size), v.dtype.str]
            for (p, ph, m, _), v in zip(reps, values, strict=True)
        ],  # fmt: skip
        "values": np.concatenate(values) if values else np.zeros(0),
        "rounds": None if rounds is None else {k: np.asarray(v) for k, v in rounds.items()},
    }


def decode(data: Mapping[str, Any]) -> tuple:
    """The tables of :func:`encode`'s form, as :func:`sim.grid._chunk_tables` returns them."""
    met = [tuple(row) for row in json.loads(json.dumps(data["metrics"]))]
    reps, start = [], 0
    for point, phase, metric, size, dtype in data["replicates"]:
        v = np.asarray(data["values"][start : start + size], dtype=np.dtype(dtype))
        reps.append((point, phase, metric, v))
        start += size
    if start != len(data["values"]):
        raise ValueError(f"{len(data['values'])} replicate values where {start} were expected")
    return met, reps, data["rounds"]


# --- the chunk store ---------------------------------------------------------------------


def chunk_key(indices: Sequence[int], hashes: Sequence[str], rounds: bool) -> str:
    """A chunk's key: its points' indices and config hashes, and ``sweep.rounds``."""
    text = json.dumps({"format": FORMAT, "indices": list(indices), "points": list(hashes),
                       "rounds": bool(rounds)}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _remove(path: Path) -> None:
    """Remove a file, a link (never what it points to) or a folder."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


class ChunkStore:
    """The finished chunks of one grid, in ``<folder>/.chunks/``.

    Args:
        folder: the grid's run folder (created, with this project's marker, if new).

    Raises:
        ConfigError: one line naming the folder: ``folder`` is not ours to write
            (:func:`sim.outdir.claim`), or its ``.chunks`` is a symbolic link or a file.
    """

    def __init__(self, folder: str | os.PathLike):
        from sim.outdir import claim

        self.root = store_path(folder)
        claim(folder)
        self.root.mkdir(exist_ok=True)
        for stale in self.root.glob(".tmp-*"):  # a chunk killed while being stored
            _remove(stale)

    def path(self, n: int) -> Path:
        """Chunk ``n``'s folder."""
        return self.root / f"chunk-{n:06d}"

    def load(self, n: int, key: str) -> tuple | None:
        """Chunk ``n``'s tables if stored whole under ``key``; None otherwise (removed if bad)."""
        where = self.path(n)
        if not where.exists() and not where.is_symlink():
            return None
        try:
            if where.is_symlink() or not where.is_dir():
                raise ValueError("not a folder")
            meta = json.loads((where / "chunk.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT or meta.get("key") != key:
                raise ValueError("of another grid or config")
            files = meta["sha256"]
            for name, digest in files.items():
                f = where / name
                if f.is_symlink() or _sha(f) != digest:
                    raise ValueError(f"{name} does not match its checksum")
            values = pd.read_parquet(where / "values.parquet")["value"].to_numpy()
            rounds = None
            if meta["rounds"] is not None:
                df = pd.read_parquet(where / "rounds.parquet")
                rounds = {k: df[k].to_numpy() for k in meta["rounds"]}
            data = {**meta, "values": values, "rounds": rounds}
            return decode(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"recomputing chunk {n}: {where} is unusable ({exc})", file=sys.stderr)
            _remove(where)
            return None

    def save(self, n: int, key: str, data: Mapping[str, Any]) -> None:
        """Store chunk ``n`` (:func:`encode`'s form) under ``key``, whole or not at all."""
        save_chunk(self.root, n, key, data)


def store_path(folder: str | os.PathLike) -> Path:
    """``<folder>/.chunks``, refused if it is a symbolic link or a file.

    Raises:
        ConfigError: one line naming the chunk store.
    """
    root = Path(folder) / STORE
    if root.is_symlink():
        raise ConfigError(
            f"{root}: the chunk store is a symbolic link; nothing was written (delete the link)"
        )
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: the chunk store is a file, not a folder; nothing was written")
    return root


def save_chunk(root: Path, n: int, key: str, data: Mapping[str, Any]) -> None:
    """Write chunk ``n`` into the store ``root``: a temporary folder, renamed into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{n}-", dir=root))
    try:
        pd.DataFrame({"value": data["values"]}).to_parquet(tmp / "values.parquet", index=False)
        files = ["values.parquet"]
        if data["rounds"] is not None:
            pd.DataFrame(data["rounds"]).to_parquet(tmp / "rounds.parquet", index=False)
            files.append("rounds.parquet")
        meta = {
            "format": FORMAT,
            "key": key,
            "metrics": data["metrics"],
            "replicates": data["replicates"],
            "rounds": None if data["rounds"] is None else list(data["rounds"]),
            "sha256": {f: _sha(tmp / f) for f in files},
        }
        (tmp / "chunk.json").write_text(json.dumps(meta), encoding="utf-8")
        final = root / f"chunk-{n:06d}"
        _remove(final)
        os.rename(tmp, final)
    finally:
        _remove(tmp)


def remove_store(folder: str | os.PathLike) -> None:
    """Remove ``<folder>/.chunks`` (a link there is unlinked, never followed)."""
    _remove(Path(folder) / STORE)


# --- the engines -------------------------------------------------------------------------


def chunk_task(
    simulate: Callable, job, rounds: bool, root: str | None, n: int, key: str
) -> dict[str, Any]:
    """Simulate one chunk (``simulate(job, rounds)``); store it in ``root``; its tables.

    Returns:
        The chunk's tables, encoded (:func:`encode`); stored first when ``root`` is given.
    """
    data = encode(simulate(job, rounds))
    if root is not None:
        save_chunk(Path(root), n, key, data)
    return data


def run_chunks(
    simulate: Callable,
    sweep: Mapping[str, Any],
    jobs: Sequence,
    todo: Sequence[int],
    keys: Sequence[str],
    rounds: bool,
    store: ChunkStore | None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Run the chunks ``todo`` of ``jobs`` on ``sweep.engine``; yield ``(n, tables)`` as done.

    ``simulate(job, rounds)`` gives a chunk's tables (:func:`sim.grid._simulate_chunk`: a
    module-level function, so that it reaches other processes). Each chunk is in the store
    before it is yielded (when there is a store).
    """
    if not todo:
        return
    engine = sweep.get("engine", "local")
    runner = {"local": _local, "ray": _ray, "submitit": _submitit}[engine]
    yield from runner(simulate, sweep, jobs, todo, keys, rounds, store)


def _local(simulate, sweep, jobs, todo, keys, rounds, store):
    root = None if store is None else str(store.root)
    if sweep["workers"] == 1:
        for n in todo:
            yield n, chunk_task(simulate, jobs[n], rounds, root, n, keys[n])
        return
    # worker processes, forked where the platform can (scripts need no main guard)
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=sweep["workers"], mp_context=ctx) as pool:
        futures = {
            pool.submit(chunk_task, simulate, jobs[n], rounds, root, n, keys[n]): n for n in todo
        }
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def _ray(simulate, sweep, jobs, todo, keys, rounds, store):
    import ray  # the ray extra; checked by check_engine

    address = sweep.get("ray_address") or None
    started = not ray.is_initialized()
    if started:
        kwargs = {} if address else {"num_cpus": sweep["workers"]}
        ray.init(address=address, log_to_driver=False, **kwargs)
    try:
        task = ray.remote(num_cpus=1)(chunk_task)
        # the tasks return their tables: a cluster's nodes need not share the run folder
        pending = {task.remote(simulate, jobs[n], rounds, None, n, keys[n]): n for n in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            n = pending.pop(ready[0])
            data = ray.get(ready[0])
            if store is not None:
                store.save(n, keys[n], data)
            yield n, data
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _parent_path() -> Iterator[None]:
    """Local submitit jobs import what this process can (a plug-in a script registered)."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _submitit(simulate, sweep, jobs, todo, keys, rounds, store):
    import submitit

    sub = sweep.get("submitit") or {}
    with contextlib.ExitStack() as stack:
        if store is None:
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grid-submitit-")))
        else:
            logs = store.root / "submitit"
        executor = submitit.AutoExecutor(folder=logs / "%j", cluster=sub.get("cluster", "local"))
        params = {
            "timeout_min": sub.get("timeout_min", 60),
            "cpus_per_task": sub.get("cpus_per_task", 1),
            "slurm_array_parallelism": sub.get("array_parallelism", 64),
            "name": "sim-grid",
        }
        if sub.get("mem_gb") is not None:
            params["mem_gb"] = sub["mem_gb"]
        if sub.get("partition"):
            params["slurm_partition"] = sub["partition"]
        executor.update_parameters(**params)
        root = None if store is None else str(store.root)
        k = len(todo)
        args = [[simulate] * k, [jobs[n] for n in todo], [rounds] * k, [root] * k,
                list(todo), [keys[n] for n in todo]]  # fmt: skip
        with _parent_path() if sub.get("cluster", "local") == "local" else contextlib.nullcontext():
            submitted = executor.map_array(chunk_task, *args)
        pending = dict(zip(submitted, todo, strict=True))
        poll = 10.0 if sub.get("cluster") == "slurm" else 0.2  # SLURM: spare the scheduler
        for fut in submitit.helpers.as_completed(submitted, poll_frequency=poll):
            yield pending[fut], fut.result()


__all__ = [
    "CLUSTERS", "ENGINES", "STORE", "ChunkStore", "check_engine", "chunk_key", "chunk_task",
    "decode", "encode", "remove_store", "run_chunks", "store_path",
]  # fmt: skip

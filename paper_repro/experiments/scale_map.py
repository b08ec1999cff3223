"""Extending the scale map: train each (net, seed, schedule length) through the run store with a
profile's recipe and only the iterations changed, and turn each finished run into a record
(``paper_repro.runs.records``) with its curves and the final net's Fig. 7 statistics.

``python -m paper_repro scale-map`` calls :func:`extend`; the book's pages only read the records.
``scale-map --export-weights`` calls :func:`export_stored`: the trained nets of points already
recorded, read from the run store (nothing trains), as the safetensors files that ship with the book.
:func:`land` brings records measured elsewhere (a long-run worktree, a GPU call) into the committed map.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from paper_repro.classification.config import get_profile
from paper_repro.classification.train import load_model
from paper_repro.experiments import live
from paper_repro.experiments.runs import DATA, RUNS, check_experiment, trained_net
from paper_repro.models.measure import bn_gammas, layer_responses
from paper_repro.paper import classification as paper
from paper_repro.runs import records, store
from paper_repro.runs.provenance import git_commit
from paper_repro.runs.records import NETS, RECORDS
from paper_repro.runs.registry import train
from paper_repro.runs.run import Diverged, stored_result
from paper_repro.runs.weights import WEIGHTS, file_name, metadata, save_trained


def point_configs(profile: str, nets, lengths, seeds, **changes) -> list:
    """The RunConfigs of every point: the profile's recipe, ``iterations`` = each length, and the
    fields in ``changes`` (``precision``; ``eval_subset`` and ``eval_interval``, which only decide the
    curves) set as given."""
    p = get_profile(profile)
    points = [(n, net, seed) for n in lengths for net in nets for seed in seeds]
    return [p.run_config(net, "cifar", seed=seed, iterations=n, **changes) for n, net, seed in points]


def curves(result) -> dict:
    """The run's curves from its metrics: at every evaluation interval, the iteration, the lr, the
    training error (mean over the interval's augmented batches) and the test error (on the
    ``eval_images`` the curves are drawn on; the final error is on ``final_eval_images``)."""
    rows = result.metrics
    return {
        "eval_images": result.summary["eval_images"],
        "iteration": [r["iteration"] for r in rows],
        "lr": [r["lr"] for r in rows],
        "train_error": [r["train_error"] for r in rows],
        "eval_error": [r["eval_error"] for r in rows],
    }


def fig7_statistics(result, n_images: int, data_root: str = "data") -> dict:
    """The final net's Fig. 7 statistics: every 3x3 layer's response std (after BN, before ReLU or
    the addition) on ``n_images`` test images, and the mean |gamma| of the BN it follows, in
    forward order."""

    model, data, speed = trained_net(result, data_root)
    std = layer_responses(model, data.eval, speed.device, max_images=n_images)
    gamma = bn_gammas(model)
    return {
        "images": min(n_images, data.eval_size),
        "layers": list(std),
        "response_std": list(std.values()),
        "bn_gamma": [gamma[k] for k in std],
    }


def record(result, fig7: dict | None = None) -> dict:
    """One point of the map: what the run measured, its curves, the final net's Fig. 7 statistics
    (when given) and where it ran."""
    s, c = result.summary, result.config
    out = {
        "net": c.model,
        "seed": c.seed,
        "iterations": c.iterations,
        "dataset": c.dataset,
        "final_train_error": s["final_train_error"],
        "final_eval_error": s["final_eval_error"],
        "final_eval_images": s.get("final_eval_images", s["eval_images"]),
        "train_images": s["train_images"],
        "config_hash": c.hash(),
        "wall_time_s": s["wall_time_s"],
        "commit": s["commit"],
        "hardware": s["hardware"],
        "torch": s.get("torch"),
        "precision": s["precision"],
    }
    if result.metrics:
        out["curves"] = curves(result)
    if fig7 is not None:
        out["fig7"] = fig7
    return out


class DirtyTree(ValueError):
    """A record would name a commit that does not hold the code that measured it."""


def _uncheckable(commit: str) -> bool:
    return commit.endswith("+dirty") or commit == "unknown"


def check_committed(commit: str) -> None:
    """Refuse to measure a point for the committed map from uncommitted code: its record would say
    "<commit>+dirty", a tree nobody can check out again."""
    if _uncheckable(commit):
        raise DirtyTree(
            f"the package has uncommitted changes (commit {commit}); a scale-map record must name the "
            "commit that measured it: commit first, or run from a clean worktree (git worktree add)"
        )


def extend(
    profile: str,
    nets=NETS,
    lengths=(300,),
    seeds=(0, 1, 2),
    folders: tuple = ("runs", "data"),
    path: Path = RECORDS,
    changes: dict | None = None,
) -> list[dict]:
    """Train (or read back) every point not yet in ``path`` and append its record, one line printed
    per point; return the new ones. ``folders``: the run store and the data folder; ``changes``:
    RunConfig fields set for every point (:func:`point_configs`). Refuses (:class:`DirtyTree`) to
    write to the committed map from uncommitted code."""
    out, data_root = folders

    committed = Path(path).resolve() == RECORDS.resolve()
    if committed:
        check_committed(git_commit())
    n_images = get_profile(profile).response_images
    # in the committed map, a record from uncommitted code ("<commit>+dirty") names no tree anyone can check
    # out: its point is measured again, and the new record stands beside it (never edited; the newest counts)
    have = {
        r["config_hash"] for r in records.read(path) if not (committed and _uncheckable(r.get("commit", "unknown")))
    }
    todo = [cfg for cfg in point_configs(profile, nets, lengths, seeds, **(changes or {})) if cfg.hash() not in have]
    new = []
    for i, cfg in enumerate(todo, 1):
        r = train(cfg, out=out, data_root=data_root)
        if committed:
            check_committed(r.summary["commit"])  # a run read back from the store may come from uncommitted code
        rec = record(r, fig7_statistics(r, n_images, data_root))
        if cfg.iterations >= paper.ITERATIONS:  # the paper's full length: the trained net ships with the book
            rec["weights"] = (
                export_weights(r, rec, Path(path).parent / "weights").relative_to(Path(path).parent).as_posix()
            )
        how = "stored run" if r.cached else f"{rec['wall_time_s']:.0f} s"
        records.append(path, rec)
        new.append(rec)
        print(
            f"scale-map [{i}/{len(todo)}] {cfg.model} seed {cfg.seed}, {cfg.iterations} iterations: training error "
            f"{100 * rec['final_train_error']:.2f}%, test error {100 * rec['final_eval_error']:.2f}% "
            f"({how})"
        )
    return new


def land(source: Path, path: Path = RECORDS) -> list[dict]:
    """Bring the records measured elsewhere home: append to ``path`` every record of the records
    file ``source`` (a long-run worktree's map, a GPU call's ``records.jsonl``) that ``path`` does not
    hold yet, and copy the weights file each names (``weights/<file>`` beside ``source``) into the
    ``weights`` folder beside ``path``. A record is new unless the very same record is there: a point
    measured again with other code or hardware is a new record, never a duplicate. Where a weights
    file of that name already holds another run (the same point measured before), the new one lands
    as ``<name>-<commit>.safetensors`` and its record names that file. Everything is checked first
    (ValueError, one line, nothing written): a record from uncommitted code, or a weights file its
    record names but ``source``'s folder lacks. Returns the records appended."""
    source, path = Path(source), Path(path)
    if not source.is_file():
        raise ValueError(f"{source}: no records file")
    have = records.read(path)
    new = [r for r in records.read(source) if r not in have]
    copies = []
    for r in new:
        point = f"{r['net']} seed {r['seed']}, {r['iterations']} iterations"
        if _uncheckable(r.get("commit", "unknown")):
            raise ValueError(f"{point}: measured by uncommitted code (commit {r.get('commit', 'unknown')}); not landed")
        if not r.get("weights"):
            continue
        src, dst = source.parent / r["weights"], path.parent / r["weights"]
        if not src.is_file():
            raise ValueError(f"{point}: its weights {src} are missing; bring them beside {source} first")
        if dst.exists() and dst.read_bytes() != src.read_bytes():
            dst = dst.with_name(f"{dst.stem}-{r['commit']}{dst.suffix}")
            if dst.exists() and dst.read_bytes() != src.read_bytes():
                raise ValueError(f"{point}: {dst} exists and holds another run; move it away first")
        copies.append((r, src, dst))
    for r, src, dst in copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            shutil.copyfile(src, dst)
        r["weights"] = dst.relative_to(path.parent).as_posix()
    for r in new:
        records.append(path, r)
    return new


def describe(r: dict) -> str:
    """One record in a line: "ResNet-56 seed 0, 64,000 iterations: 5.51% test error on 10000 images,
    0.66% training error, 5.00 h of training (bf16, commit 3b8ce7a, AMD EPYC, 2 threads)"."""
    return (
        f"{records.net_name(r['net'])} seed {r['seed']}, {r['iterations']:,} iterations: "
        f"{100 * r['final_eval_error']:.2f}% test error on {r['final_eval_images']} images, "
        f"{100 * r['final_train_error']:.2f}% training error, {r['wall_time_s'] / 3600:.2f} h of training "
        f"({r['precision']}, commit {r['commit']}, {r['hardware']})"
    )


def reader_records(profile: str) -> Path:
    """Where chapter 7 keeps the points a reader adds: their own file in the project's run store,
    one per profile, never the committed map."""
    return RUNS / "scale-map" / f"records-{profile}.jsonl"


def reader_map(profile, nets=None, lengths=None, seeds=None) -> list[dict]:
    """Chapter 7's reader's experiment: with ``lengths`` (schedule lengths), train or read back
    ``nets`` (default: the map's four) x ``seeds`` (default 0, 1, 2) at each length with the profile's
    recipe, append each new point to :func:`reader_records`, and return every point that file holds;
    with ``lengths`` None, nothing (the committed map only)."""
    check_experiment(nets, seeds=seeds, lengths=lengths)
    if lengths is None:
        return []
    path = reader_records(profile.name)
    with live.session():  # a bar per run and its curves, redrawn as they train, in JupyterLab only
        extend(profile.name, nets or NETS, lengths, seeds or (0, 1, 2), (str(RUNS), str(DATA)), path)
    return records.read(path)


def export_weights(result, rec: dict, folder: Path = WEIGHTS) -> Path:
    """The finished run's network as ``folder/<net>-s<seed>-<iterations>.safetensors`` (weights only,
    with the record's config hash, commit and final errors as metadata, and the run's whole config,
    from which its test data is built again: ``experiments.shipped``)."""
    model = load_model(result, "cpu")
    meta = {
        "net": rec["net"],
        "in_channels": int(model.conv1.weight.shape[1]),
        "num_classes": int(model.fc.weight.shape[0]),
        **{k: rec[k] for k in ("config_hash", "seed", "iterations", "dataset", "commit", "precision")},
        **{k: rec[k] for k in ("final_eval_error", "final_train_error", "final_eval_images")},
        "config": result.config.to_dict(),
    }
    return save_trained(model, folder / file_name(rec["net"], rec["seed"], rec["iterations"], rec["precision"]), meta)


def _point(cfg) -> str:
    return f"{cfg.model} seed {cfg.seed}, {cfg.iterations} iterations ({cfg.precision}, config {cfg.hash()})"


def _exportable(cfg, rec: dict | None, out, path: Path, folder: Path):
    """The stored run of ``cfg`` ready to export (its Result), None where ``folder`` already holds its
    file; a ValueError in one line where it is not: no record, a run not finished in the store, a
    final checkpoint missing, a run that is not the one its record measured, a file of its name that
    holds another run."""
    if rec is None:
        raise ValueError(f"{_point(cfg)}: no record in {path}; measure it first (scale-map without --export-weights)")
    run_dir = cfg.folder(out)
    try:
        result = stored_result(run_dir, cfg)
    except Diverged as e:
        raise ValueError(f"{_point(cfg)}: the stored run in {run_dir} diverged ({e})") from None
    if result is None:
        raise ValueError(f"{_point(cfg)}: not finished in the run store {out} ({run_dir}); export it once it has")
    got = {k: result.summary.get(k) for k in ("final_eval_error", "final_train_error")}
    if got != {k: rec[k] for k in got}:
        raise ValueError(f"{_point(cfg)}: the stored run's final errors {got} are not its record's; not exported")
    state = store.load_latest_checkpoint(run_dir)
    if state is None or state["iteration"] != cfg.iterations:
        at = "none" if state is None else f"iteration {state['iteration']}"
        raise ValueError(f"{_point(cfg)}: {run_dir} holds no good final checkpoint (newest good: {at})")
    target = Path(folder) / file_name(cfg.model, cfg.seed, cfg.iterations, rec["precision"])
    if target.exists():
        if metadata(target).get("config_hash") == cfg.hash():
            return None
        raise ValueError(f"{_point(cfg)}: {target} exists and holds another run; move it away first")
    return result


def export_stored(
    profile: str,
    nets,
    lengths,
    seeds,
    out,
    path: Path = RECORDS,
    changes: dict | None = None,
) -> list[Path]:
    """Export the trained nets of recorded points from the run store ``out``, training nothing:
    each (net, seed, length) of :func:`point_configs` is looked up in ``path`` by its config hash and
    read back from the store, then written by :func:`export_weights` to the ``weights`` folder beside
    ``path``; one line printed per point. Every point is checked first (ValueError, one line, nothing
    written, where one is not ready). The records file is not touched: records are append-only, and
    :func:`paper_repro.runs.weights.weights_for` finds a record's file by its name and config hash.
    Returns the files written (a file already there for the same run is kept as it is)."""
    folder = Path(path).parent / "weights"
    by_hash = {}
    for r in records.read(path):
        by_hash.setdefault(r["config_hash"], r)
    todo = []
    for cfg in point_configs(profile, nets, lengths, seeds, **(changes or {})):
        rec = by_hash.get(cfg.hash())
        todo.append((cfg, rec, _exportable(cfg, rec, out, path, folder)))
    written = []
    for i, (cfg, rec, result) in enumerate(todo, 1):
        if result is None:
            target = folder / file_name(cfg.model, cfg.seed, cfg.iterations, rec["precision"])
            print(f"scale-map export [{i}/{len(todo)}] {_point(cfg)}: {target} already holds it")
            continue
        target = export_weights(result, rec, folder)
        written.append(target)
        print(
            f"scale-map export [{i}/{len(todo)}] {_point(cfg)}: {target} ({target.stat().st_size / 1e6:.1f} MB), "
            f"test error {100 * rec['final_eval_error']:.2f}% on {rec['final_eval_images']} images"
        )
    return written

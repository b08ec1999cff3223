"""The engine's speed switches as the book's appendix (book/08_using.md) shows them, generated from the
files ``python -m paper_repro bench --switches --json figures/bench/switches-<machine>.json`` wrote:
one table per machine, and what torch.compile gives on it against the default eager setting. No
number here is typed by hand; each table names the hardware, torch version and commit of its file."""

from __future__ import annotations

import json
from pathlib import Path

from paper_repro.book.figures import FIGURES

BENCH = FIGURES / "bench"


def switches_table(r: dict) -> str:
    """``bench_switches``' result as one Markdown table with its provenance line."""
    lines = [
        f"{r['dataset']} data, batch {r['batch_size']}, {r['device']} ({r['hardware']}), torch {r['torch']}, "
        f"commit {r['commit']}; images/s over the timed iterations, the warm-up iterations (and "
        "torch.compile's compilation) excluded and reported in their own column (compile: torch.compile)",
        "",
        "| net | precision | channels_last | compile | threads | images/s | warm-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for x in r["rows"]:
        prec = x["precision"] if x["precision"] != "auto" else f"auto ({x['resolved_precision']})"
        cl = (
            x["channels_last"]
            if x["channels_last"] != "auto"
            else f"auto ({'on' if x['resolved_channels_last'] else 'off'})"
        )
        lines.append(
            f"| {x['net']} | {prec} | {cl} | {'inductor' if x['compile'] else 'no'} | {x['threads']} | "
            f"{x['images_per_sec']:.1f} | {x['warmup_s']:.1f} s, {x['warmup_iterations']} it. |"
        )
    return "\n".join(lines)


def _default(x: dict) -> bool:
    return x["precision"] == "auto" and x["channels_last"] == "auto"


def compile_gains(r: dict) -> dict[str, float]:
    """Per net: torch.compile's images/s over the default eager setting's at the same thread count,
    minus 1 (0.10 = 10% faster). Nets without both rows are left out."""
    out = {}
    for net in dict.fromkeys(x["net"] for x in r["rows"]):
        rows = [x for x in r["rows"] if x["net"] == net and _default(x)]
        for c in (x for x in rows if x["compile"]):
            eager = [x for x in rows if not x["compile"] and x["threads"] == c["threads"]]
            if eager:
                out[net] = c["images_per_sec"] / eager[0]["images_per_sec"] - 1
    return out


def compile_sentence(r: dict) -> str:
    gains = compile_gains(r)
    if not gains:
        return "torch.compile was not timed here."
    return (
        "torch.compile (inductor) against the same setting eager, images/s: "
        + ", ".join(f"{net} {100 * g:+.0f}%" for net, g in gains.items())
        + "."
    )


def native_bf16(r: dict) -> bool | None:
    """Whether the CPU of a ``bench --switches`` file has native bf16: its own field, or, in a file
    written before it had one, what precision ``auto`` resolved to there (bf16 only where it is native);
    None on a GPU or where neither says."""
    if r.get("native_bf16") is not None or not str(r.get("device", "")).startswith("cpu"):
        return r.get("native_bf16")
    auto = {x.get("resolved_precision") for x in r.get("rows", []) if x.get("precision") == "auto"}
    return None if len(auto) != 1 else auto == {"bf16"}


def switches_markdown(folder: Path = BENCH) -> str:
    """The appendix's block: each ``switches-*.json`` in ``folder`` as its hardware's table and its
    torch.compile sentence, or one sentence saying that nothing was measured."""
    files = sorted(Path(folder).glob("switches-*.json"))
    if not files:
        return f"Not measured yet: `python -m paper_repro bench --switches --json {BENCH.name}/switches-NAME.json`."
    parts = []
    for f in files:
        r = json.loads(f.read_text())
        bf16 = {True: ", native bf16", False: ", no native bf16 (bf16 emulated)"}.get(native_bf16(r), "")
        where = f"`{folder.parent.name}/{folder.name}/{f.name}`"
        parts.append(f"**{r['hardware']}{bf16}** ({where}): {compile_sentence(r)}")
        parts.append(switches_table(r))
    return "\n\n".join(parts)

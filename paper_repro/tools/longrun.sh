#!/usr/bin/env bash
# The scale map's long CPU runs (issue 29: ResNet-20/56 at the paper's 64,000 iterations), from a
# git worktree at a fixed commit, so that edits and tests in the main tree never change the code a
# running job imports. Each point is one `scale-map` call; a stopped point resumes from its last
# checkpoint (every 400 iterations) when the same call runs again, and a recorded point is skipped.
#   paper_repro/tools/longrun.sh start [COMMIT]  the worktree ../longrun at COMMIT (default: the parked
#                                                commit, else HEAD; kept where it exists), parked runs
#                                                restored into it, then the queue in the background
#   paper_repro/tools/longrun.sh status          the log's last lines and each unfinished run's iteration
#   paper_repro/tools/longrun.sh land            the finished points' records and nets into this tree's
#                                                figures/scale-map (experiments.scale_map.land), then the
#                                                README's and the appendix's blocks and chapter 7's map
#                                                (figures/cpu/scale_map); commit them at once
#   paper_repro/tools/longrun.sh watch           in the background: each time the queue records a point,
#                                                `land`, the tests that read the records and the shipped
#                                                nets, then a commit of the landed files alone (other
#                                                changes in this tree are left as they are); log ../longrun-land.log
#   paper_repro/tools/longrun.sh park            each unfinished run's newest good checkpoint (with its config,
#                                                metrics and the worktree's commit) into figures/longrun-parked/,
#                                                committed alone: a machine not kept between sessions loses
#                                                runs/, and a ResNet-56 at 64,000 iterations outlasts three
#                                                sessions. On a new machine `start` makes the worktree at the
#                                                parked commit and resumes each parked run from its checkpoint;
#                                                `land` removes a run's parked files once its point is recorded
# Run from the main tree, after `make data` (its .venv and data/ serve the worktree too).
set -euo pipefail
main=$(git rev-parse --show-toplevel)
tree=${LONGRUN_TREE:-$main/../longrun}
log=${LONGRUN_LOG:-$main/../longrun.log}
parked=figures/longrun-parked  # in the main tree
py=${LONGRUN_PYTHON:-$main/.venv/bin/python}
# In the issue's order, so that any partial result is a matched pair; then ResNet-20 seed 0 again,
# with the same curves (all 10,000 test images every 400 iterations) and its net saved; then the
# plain nets, so that Fig. 6 can be drawn whole at the paper's length (issue 29, item 7).
QUEUE=("resnet56 0" "resnet20 1" "resnet56 1" "resnet20 2" "resnet56 2" "resnet20 0"
  "plain20 0" "plain56 0" "plain20 1" "plain56 1" "plain20 2" "plain56 2")
# That series is bf16 (`--precision auto` on a CPU with native bf16). A CPU without it (avx512_bf16 or
# amx_bf16) would train those points in fp32, records that never join the series, and bf16 emulated
# there is an order of magnitude slower than fp32 (figures/bench/switches-epyc-no-bf16.json, ResNet-20:
# 34.8 against 490.0 images/s). Such a machine runs the precision control instead, at the longest length where
# the depth claims have 3 bf16 seeds: ResNet-20 and ResNet-56 in fp32 at 9,600 iterations, in pairs.
CONTROL=("resnet20 0" "resnet56 0" "resnet20 1" "resnet56 1" "resnet20 2" "resnet56 2")

queue() {
  cd "$tree"
  # the queue is a session of its own (setsid): its autogroup at nice 19 too, so that the machine's
  # other sessions (tests, builds) come first; `scale-map` only does this where it leads the session
  echo 19 >/proc/self/autogroup 2>/dev/null || true
  if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
    for point in "${QUEUE[@]}"; do
      set -- $point
      echo "=== $(date -u +%FT%TZ) $1 seed $2, 64000 iterations"
      PYTHONPATH=$tree "$py" -m paper_repro scale-map --profile cpu --out "$tree/runs" --data-root "$main/data" \
        --models "$1" --seeds "$2" --iterations 64000 --eval-images 10000 --eval-interval 400 ||
        echo "=== exit code $? ($1 seed $2)"
    done
  else
    echo "=== $(date -u +%FT%TZ) this CPU has no native bf16 (avx512_bf16, amx_bf16): the fp32 control at 9600 iterations, not the bf16 series"
    for point in "${CONTROL[@]}"; do
      set -- $point
      echo "=== $(date -u +%FT%TZ) $1 seed $2, 9600 iterations, fp32"
      PYTHONPATH=$tree "$py" -m paper_repro scale-map --profile cpu --out "$tree/runs" --data-root "$main/data" \
        --models "$1" --seeds "$2" --iterations 9600 --precision fp32 || echo "=== exit code $? ($1 seed $2)"
    done
  fi
  echo "=== $(date -u +%FT%TZ) queue done"
}

case "${1:-}" in
  start)
    if [ ! -d "$tree" ]; then
      # a parked run resumes with the code that began it: the worktree at the parked commit
      at=${2:-$(cat "$main/$parked/COMMIT" 2>/dev/null || echo HEAD)}
      git -C "$main" worktree add --detach "$tree" "$at"
      # the points recorded since that commit, so that the queue skips them (records are only appended)
      cp "$main/figures/scale-map/records.jsonl" "$tree/figures/scale-map/records.jsonl"
    fi
    for c in "$main/$parked"/*/*/config.json; do
      [ -e "$c" ] || continue
      p=$(dirname "$c") && rel=${p#"$main/$parked/"} && d=$tree/runs/$rel
      ck=$(ls "$p"/checkpoint-*.pt | tail -n 1)
      # where this machine kept the run at that checkpoint or beyond, it is left as it is
      [ -e "$d/summary.json" ] || [ -e "$d/$(basename "$ck")" ] && continue
      have=$(ls "$d"/checkpoint-*.pt 2>/dev/null | tail -n 1 || true)
      [ -n "$have" ] && [[ $(basename "$have") > $(basename "$ck") ]] && continue
      mkdir -p "$d" && cp "$p"/* "$d/"
      echo "restored runs/$rel from its parked checkpoint $(basename "$ck")"
    done
    # the records the queue appends (figures/) are its own; changed code (paper_repro/) would make them "+dirty"
    git -C "$tree" diff --quiet -- paper_repro || { echo "$tree/paper_repro has uncommitted changes: its records would be refused" >&2; exit 2; }
    # the queue runs from a copy of its own text, never from this file, which may change meanwhile
    setsid nohup bash -c "$(declare -p QUEUE CONTROL tree main py); $(declare -f queue); queue" >>"$log" 2>&1 </dev/null &
    echo "started at $(git -C "$tree" rev-parse --short HEAD) in $tree; log: $log"
    ;;
  status)
    tail -n 3 "$log"
    for m in "$tree"/runs/cifar/*/metrics.jsonl; do
      d=$(dirname "$m")
      [ -e "$m" ] && [ ! -e "$d/summary.json" ] || continue
      # the pace of this sitting: from the log's last start (and the iteration it resumed from) to the
      # newest checkpoint's file time, this machine's load included; a stop between sittings does not count
      "$py" - "$d" "$log" <<'PY'
import datetime, json, re, sys
from pathlib import Path
d, log = Path(sys.argv[1]), Path(sys.argv[2])
it = json.loads((d / "metrics.jsonl").read_text().splitlines()[-1])["iteration"]
total = json.loads((d / "config.json").read_text()).get("iterations", 64000)
last = sorted(d.glob("checkpoint-*.pt"), key=lambda p: int(p.stem.split("-")[1]))[-2:]
ck = last[-1:]
sitting = ("\n" + log.read_text()).split("\n=== ")[-1]
start = re.match(r"(\S+Z) ", sitting)
resumed = re.search(rf"resuming run \S*{d.name} from iteration (\d+)", sitting)
pace = ""
t0 = datetime.datetime.fromisoformat(start[1].replace("Z", "+00:00")).timestamp() if start else 0.0
if ck and start:
    n = int(ck[0].stem.split("-")[1]) - (int(resumed[1]) if resumed else 0)
    dt = ck[0].stat().st_mtime - t0
    if n > 0 and dt > 0:  # none yet where this sitting has written no checkpoint
        pace = f"; {n} iterations in {dt / 60:.0f} min this sitting, so about {(total - it) * dt / n / 3600:.1f} h to go"
# the pace now: the two newest checkpoints, 400 iterations apart, unlike the sitting's pace not slowed
# by a build or a CI run that has since ended; both written in this sitting, so no stop lies between them
if len(last) == 2 and last[0].stat().st_mtime >= t0:
    n = int(last[1].stem.split("-")[1]) - int(last[0].stem.split("-")[1])
    dt = last[1].stat().st_mtime - last[0].stat().st_mtime
    if n > 0 and dt > 0:
        pace += f"; the last {n} in {dt:.0f} s, at that pace {(total - it) * dt / n / 3600:.1f} h"
print(f"{d}: iteration {it} of {total}{pace}")
PY
    done
    ;;
  land)
    cd "$main"
    "$py" -c "from paper_repro.experiments.scale_map import describe, land; [print('landed:', describe(r)) for r in land('$tree/figures/scale-map/records.jsonl')]"
    "$py" -m paper_repro report --profile cpu --readme README.md
    "$py" -m paper_repro report --profile cpu --readme book/08_using.md  # the long runs' times
    # chapter 7's map of the `cpu` build (figures/cpu/scale_map), redrawn from the new records
    "$py" -m paper_repro reproduce --profile cpu --only 07_scale_map --no-build >/dev/null
    for c in "$parked"/*/*/config.json; do  # a recorded run's parked checkpoint is no longer needed
      [ -e "$c" ] && [ -e "$tree/runs/$(dirname "${c#"$parked/"}")/summary.json" ] &&
        rm -r "$(dirname "$c")" && echo "unparked $(dirname "${c#"$parked/"}")"
    done
    compgen -G "$parked/*/*/config.json" >/dev/null || rm -rf "$parked"
    ;;
  park)
    cd "$main"
    rm -rf "$parked"  # only the newest state: earlier parks stay in git's history
    for m in "$tree"/runs/*/*/metrics.jsonl; do
      d=$(dirname "$m")
      [ -e "$d/summary.json" ] && continue
      for ck in $(ls -r "$d"/checkpoint-*.pt 2>/dev/null || true); do  # newest first; one being written is skipped
        [ "$(sha256sum <"$ck" | cut -d' ' -f1)" = "$(cat "$ck.sha256" 2>/dev/null)" ] || continue
        rel=${d#"$tree/runs/"}
        mkdir -p "$parked/$rel" && cp "$d/config.json" "$d/metrics.jsonl" "$ck" "$ck.sha256" "$parked/$rel/"
        git -C "$tree" rev-parse HEAD >"$parked/COMMIT"
        echo "parked runs/$rel at $(basename "$ck") ($(du -sh "$parked/$rel" | cut -f1))"
        break
      done
    done
    if [ -d "$parked" ] || [ -n "$(git ls-files -- "$parked")" ]; then
      git add -A -- "$parked" && git commit -q -m "Long runs parked (longrun.sh park): $(ls "$parked"/*/*/checkpoint-*.pt 2>/dev/null | sed "s|^$parked/||" | paste -sd' ' || true), to resume on a machine that did not keep runs/" -- "$parked" && git log --oneline -1
    fi
    ;;
  watch)
    land_log=${LONGRUN_LAND_LOG:-$main/../longrun-land.log}
    landed=(figures/scale-map figures/cpu/scale_map.png figures/cpu/scale_map.json README.md book/08_using.md)
    tests_log=$main/../longrun-land-tests.log
    watch() {
      cd "$main"
      seen=$(wc -l <"$tree/figures/scale-map/records.jsonl")
      while sleep 60; do
        now=$(wc -l <"$tree/figures/scale-map/records.jsonl")
        [ "$now" -gt "$seen" ] || continue
        seen=$now
        echo "=== $(date -u +%FT%TZ) a new record in $tree"
        points=$("$script" land) || { echo "land failed"; continue; }
        echo "$points"
        paths=("${landed[@]}")
        [ -z "$(git ls-files -- figures/longrun-parked)" ] || paths+=(figures/longrun-parked)  # unparked by land
        [ -n "$(git status --porcelain -- "${paths[@]}")" ] || continue
        if ! "$py" -m pytest -q -x -p no:cacheprovider tests/test_report.py tests/test_weights.py >"$tests_log" 2>&1; then
          tail -n 20 "$tests_log"
          echo "tests failed: landed, not committed"
          continue
        fi
        tail -n 1 "$tests_log"
        msg="Long runs landed (longrun.sh watch): $(grep '^landed: ' <<<"$points" | cut -c9- | paste -sd';' | sed 's/;/; /g'). Records, weights, README and appendix blocks"
        git add -A -- "${paths[@]}" && git commit -q -m "$msg" -- "${paths[@]}" && git log --oneline -1
      done
    }
    script=$(realpath "$0")
    setsid nohup bash -c "$(declare -p tree main py landed script tests_log); $(declare -f watch); watch" >>"$land_log" 2>&1 </dev/null &
    echo "watching $tree/figures/scale-map/records.jsonl; log: $land_log"
    ;;
  *)
    sed -n '2,23p' "$0" >&2
    exit 2
    ;;
esac

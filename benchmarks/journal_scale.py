"""Whether a scan's bookkeeping stays flat at archive scale: time and memory per page, block by
block of 1,000 pages, over a batch of 10,000 one-page files with a few fields each.

    python benchmarks/journal_scale.py [--files 10000] [--fields 5] [--format csv]
                                       [--pace 0.005] [--repo OTHER_CHECKOUT]

The pages are not read: each is a made-up result, after a sleep standing for its reading
(`--pace`; 5 ms: 200 pages a second, a cluster's pace), handed to the scan's `Batch` as a worker
would hand it (journal, output writes, resume bookkeeping), so what is measured is the cost
that grows with the batch, not the reading, which does not. `--repo` measures another
checkout's Batch the same way (e.g. the commit before the journal, in a `git worktree`).
Writes benchmarks/results/journal_scale[_NAME].md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

BLOCK = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--fields", type=int, default=5, help="rows per page")
    parser.add_argument("--format", default="csv", choices=["csv", "jsonl", "xlsx"])
    parser.add_argument(
        "--pace",
        type=float,
        default=0.005,
        help="seconds each page stands for (its reading, spread over a cluster): the output "
        "is rewritten by the clock, so its cost shows only at a realistic pace",
    )
    parser.add_argument("--repo", type=Path, help="measure the Batch of this checkout")
    parser.add_argument("--name", default="", help="suffix of the results file")
    args = parser.parse_args()
    if args.repo is not None:
        sys.path.insert(0, str(args.repo.resolve()))
    import digitize
    from digitize.batch import Batch  # from --repo when given
    from digitize.page_task import PageResult
    from digitize.progress import QuietListener
    from digitize.records import FieldResult
    from report import write_results

    blocks: list[tuple[float, float]] = []  # seconds, RSS MiB at the block's end
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / f"entries.{args.format}"
        started = block_start = time.perf_counter()
        with Batch(out, Path(scratch) / "errors.csv", QuietListener(), resume=False) as batch:
            batch.commit(force=True)
            for number in range(args.files):
                file = f"archive/box-{number // 1000:03d}/form-{number:06d}.png"
                batch.expect(file, 1)
                fields = [
                    FieldResult(
                        file,
                        1,
                        f"field_{n}",
                        f"{number % 9973:04d}",
                        0.9912,
                        (0.99, 0.998, 0.9971, 0.9999),
                        (0.1, 0.1 * n, 0.3, 0.1 * n + 0.05),
                        0.9,
                    )
                    for n in range(1, args.fields + 1)
                ]
                time.sleep(args.pace)
                batch.finish(PageResult(file, 1, fields))
                if (number + 1) % BLOCK == 0:
                    now = time.perf_counter()
                    blocks.append((now - block_start - BLOCK * args.pace, rss_mib()))
                    block_start = now
            ending = time.perf_counter()
            if hasattr(batch, "complete"):
                batch.complete()
            else:
                batch.commit(force=True)
            final_write = time.perf_counter() - ending
        total = time.perf_counter() - started
        rows = args.files * args.fields

    lines = [
        f"Command: `python benchmarks/journal_scale.py --files {args.files} --fields "
        f"{args.fields} --format {args.format} --pace {args.pace}"
        + (f" --repo {args.repo}" if args.repo else "")
        + "`  ",
        f"digitize from: `{Path(digitize.__file__).parent}`  ",
        "",
        f"{args.files} one-page files, {rows} rows, written as {args.format}: "
        f"{total:.1f} s in all, the last write {final_write:.2f} s.",
        "",
        f"Each page stands for {args.pace * 1000:.0f} ms of reading (slept); the ms per page "
        "below are beyond that: the bookkeeping's own cost.",
        "",
        "| pages | ms per page | RSS MiB at the end |",
        "| --- | --- | --- |",
    ]
    for index, (seconds, rss) in enumerate(blocks):
        lines.append(
            f"| {index * BLOCK + 1}-{(index + 1) * BLOCK} | {seconds / BLOCK * 1000:.2f} "
            f"| {rss:.0f} |"
        )
    first, last = blocks[0][0], blocks[-1][0]
    lines += [
        "",
        f"Last block / first block: {last / first:.2f}x time per page; median block "
        f"{statistics.median(s for s, _ in blocks) / BLOCK * 1000:.2f} ms per page; "
        f"memory grew {blocks[-1][1] - blocks[0][1]:.0f} MiB from the first block's end.",
    ]
    name = "journal_scale" + (f"_{args.name}" if args.name else "")
    path = write_results(name, "Scan bookkeeping at archive scale", lines)
    print("\n".join(lines))
    print(f"-> {path}")


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()

"""Running one image-to-image function over many inputs: every input is processed, a bad
one is reported and skipped, and the exit code says whether anything failed."""

from __future__ import annotations

import time
from pathlib import Path

from ganctl.cli.common import print_json
from ganctl.console import error, info
from ganctl.errors import GanctlError, UsageError


def output_path(inp, out: str | None, many: bool, suffix: str, folder: str,
                keep_ext: bool = False) -> str:
    from ganctl.infer.io import STDIO, is_dir_target

    if out == STDIO:
        return STDIO
    if out and not (many or is_dir_target(out)):
        return out
    folder = Path(out) if out else (Path(folder) if many else Path("."))
    rel = Path(inp.rel)
    name = f"{rel.stem}-{rel.suffix[1:]}" if keep_ext and rel.suffix else rel.stem
    return str(folder / rel.parent / f"{name}-{suffix}.png")


def output_paths(inputs: list, out: str | None, many: bool, suffix: str,
                 folder: str) -> list[str]:
    """One output path per input. When two inputs would share a name, first every name
    keeps its path below the inputs' common folder (`x.png` in two folders given), then
    its own extension too (`x.bmp` and `x.tif` -> `x-bmp-x4.png`, `x-tif-x4.png`)."""
    import os

    paths = [output_path(i, out, many, suffix, folder) for i in inputs]
    if len(set(paths)) == len(paths) or paths[0] == "-":
        return paths
    files = [i for i in inputs if i.path is not None]
    root = Path(os.path.commonpath([str(i.path.absolute().parent) for i in files]))
    for i in files:
        i.rel = i.path.absolute().relative_to(root).as_posix()
    paths = [output_path(i, out, many, suffix, folder) for i in inputs]
    if len(set(paths)) < len(paths):
        paths = [output_path(i, out, many, suffix, folder, keep_ext=True) for i in inputs]
    seen: dict[str, str] = {}
    for i, path in zip(inputs, paths):
        if path in seen:
            raise UsageError(f"{seen[path]} and {i.name} would both be written to {path}")
        seen[path] = i.name
    return paths


def process_images(items: list[str], out: str | None, suffix: str, as_json: bool, fn,
                   folder: str = "upscaled") -> None:
    """Apply `fn(PIL image) -> PIL image` to every input and write the results (default
    for several inputs: the folder `folder`)."""
    from ganctl.infer.io import STDIO, expand_inputs, is_dir_target, output_format, save_image

    inputs, problems = expand_inputs(items)
    many = len(inputs) > 1
    if out is None and inputs and all(i.data is not None for i in inputs):
        out = STDIO  # stdin in, stdout out
    if out == STDIO and many:
        raise UsageError("-o - writes one image; give -o DIR/ for several inputs")
    if as_json and out == STDIO:
        raise UsageError("--json and -o - both want stdout; pick one")
    if out and out != STDIO and not is_dir_target(out):
        output_format(out)  # an unknown suffix fails before any work
    results = [{"input": p.split(":")[0], "error": p} for p in problems]
    for inp, dest in zip(inputs, output_paths(inputs, out, many, suffix, folder)):
        t0 = time.perf_counter()
        row = {"input": inp.name}
        try:
            img = inp.open(channels=None)
            result = fn(img)
            row["output"] = save_image(result, dest)
            row.update(size_in=list(img.size), size_out=list(result.size),
                       seconds=round(time.perf_counter() - t0, 3))
            if not as_json and out != STDIO:
                info(f"{inp.name} ({img.width}x{img.height}) -> {row['output']} "
                     f"({result.width}x{result.height})")
        except GanctlError as e:
            row["error"] = str(e)
        except (RuntimeError, ValueError, MemoryError) as e:  # e.g. too thin for the net
            row["error"] = f"{inp.name}: cannot process ({type(e).__name__}: " \
                           f"{str(e).splitlines()[0][:120] if str(e) else 'no detail'})"
        results.append(row)
    failed = [r for r in results if "error" in r]
    for r in failed:
        error(r["error"])
    if as_json:
        print_json({"processed": len(results) - len(failed), "failed": len(failed),
                    "results": results})
    if failed:
        raise GanctlError(f"{len(failed)} of {len(results)} input(s) failed")

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
    if out and not many:  # one input into a folder the user named keeps its own name,
        own = folder / rel.parent / f"{name}.png"  # unless that would overwrite the input
        if inp.path is None or own.resolve() != Path(inp.path).resolve():
            return str(own)
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


# On a GPU, consecutive inputs of one size and mode run through the net together, up to
# this many input pixels (or images) per group. On the CPU grouping measured mixed
# (docs/performance.md: pix2pix 1.3x, CycleGAN 0.76x), so images run one at a time there.
GROUP_PIXELS = {"cuda": 1024 * 1024, "cpu": 0}
GROUP_IMAGES = 64


def process_images(items: list[str], out: str | None, suffix: str, as_json: bool, fn,
                   folder: str = "upscaled", device_type: str = "cpu",
                   meta: dict | None = None) -> None:
    """Apply `fn(list of PIL images of one size and mode) -> list of PIL images` to every
    input and write the results (default for several inputs: the folder `folder`; `meta`:
    what --json adds, e.g. the weights used).
    On `device_type` "cuda", consecutive same-size inputs go to `fn` together; when a
    group fails, its images are retried one by one so the error names the image."""
    from ganctl.infer.io import STDIO, expand_inputs, is_dir_target, output_format

    inputs, problems = expand_inputs(items)
    many = len(inputs) > 1
    if many and out and out != STDIO and not is_dir_target(out) and Path(out).suffix:
        raise UsageError(f"-o {out} names one image, but the inputs hold {len(inputs)}; give "
                         f"a folder: -o {Path(out).with_suffix('')}/")
    inputs = not_under(inputs, items, Path(out) if out and out != STDIO else Path(folder),
                       many or bool(out and is_dir_target(out)))
    if out is None and inputs and all(i.data is not None for i in inputs):
        out = STDIO  # stdin in, stdout out
    if out == STDIO and many:
        raise UsageError("-o - writes one image; give -o DIR/ for several inputs")
    if as_json and out == STDIO:
        raise UsageError("--json and -o - both want stdout; pick one")
    if out and out != STDIO and not is_dir_target(out):
        output_format(out)  # an unknown suffix fails before any work
    results = [{"input": p.split(":")[0], "error": p} for p in problems]
    report = not as_json and out != STDIO
    t_start, pixels_out = time.perf_counter(), 0
    group: list = []
    for inp, dest in zip(inputs, output_paths(inputs, out, many, suffix, folder)):
        try:
            img = inp.open(channels=None)
        except GanctlError as e:
            results.append({"input": inp.name, "error": str(e)})
            continue
        if group and not fits(group, img, GROUP_PIXELS.get(device_type, 0)):
            pixels_out += run_group(group, fn, results, report)
            group = []
        group.append((inp, dest, img))
    if group:
        pixels_out += run_group(group, fn, results, report)
    seconds = time.perf_counter() - t_start
    failed = [r for r in results if "error" in r]
    if len(results) == 1 and failed and not as_json:  # one input: its error is the line
        raise GanctlError(failed[0]["error"])
    for r in failed:
        error(r["error"])
    done = len(results) - len(failed)
    if report and done > 1:
        info(f"{done} images in {seconds:.1f} s: {done / seconds:.2f} images/s, "
             f"{pixels_out / 1e6 / seconds:.2f} output megapixels/s")
    if as_json:
        print_json({"processed": done, "failed": len(failed), "seconds": round(seconds, 3),
                    "images_per_s": round(done / seconds, 3),
                    "output_megapixels_per_s": round(pixels_out / 1e6 / seconds, 4),
                    "results": results, **(meta or {})})
    if failed:
        raise GanctlError(f"{len(failed)} of {len(results)} input(s) failed")


def check_inputs(items: list[str]) -> None:
    """Before any weights load: inputs that are all plain paths and all missing are one
    usage error, not a weights line, an error and a summary."""
    import glob

    from ganctl.infer.io import STDIO

    plain = [i for i in items if i != STDIO and not glob.has_magic(i)]
    missing = [i for i in plain if not Path(i).expanduser().exists()]
    if plain and len(missing) == len(items):
        raise UsageError(f"{missing[0]}: no such file or folder" if len(missing) == 1 else
                         f"none of the {len(missing)} inputs exist (first: {missing[0]})")


def not_under(inputs: list, items: list[str], dest: Path, to_folder: bool) -> list:
    """The inputs outside the output folder `dest`, and any file named on the command line:
    a rerun over a folder that holds earlier outputs does not process those again."""
    if not to_folder or not dest.is_dir():
        return inputs
    dest, named = dest.resolve(), {Path(i).expanduser().resolve() for i in items}
    return [i for i in inputs if i.path is None or i.path.resolve() in named
            or not i.path.resolve().is_relative_to(dest)]


def fits(group: list, img, pixels: int) -> bool:
    """Whether `img` can join `group` (same size and mode, within the group limits)."""
    first = group[0][2]
    return (img.size == first.size and img.mode == first.mode and len(group) < GROUP_IMAGES
            and (len(group) + 1) * img.width * img.height <= pixels)


def run_group(group: list, fn, results: list, report: bool) -> int:
    """Run and write one group; returns the output pixels written."""
    from ganctl.infer.io import save_image

    t0 = time.perf_counter()
    try:
        label = group[0][0].name if len(group) == 1 else f"a group of {len(group)} images"
        outputs = apply(fn, [img for _, _, img in group], label)
    except GanctlError as e:
        if len(group) == 1:
            results.append({"input": group[0][0].name, "error": str(e)})
            return 0
        outputs = None
    if outputs is None:  # a group failed: one by one, so each failure names its image
        return sum(run_group([g], fn, results, report) for g in group)
    seconds = (time.perf_counter() - t0) / len(group)
    pixels = 0
    for (inp, dest, img), result in zip(group, outputs):
        row = {"input": inp.name}
        try:
            row["output"] = save_image(result, dest)
            row.update(size_in=list(img.size), size_out=list(result.size),
                       seconds=round(seconds, 3))
            pixels += result.width * result.height
            if report:
                info(f"{inp.name} ({img.width}x{img.height}) -> {row['output']} "
                     f"({result.width}x{result.height})")
        except GanctlError as e:
            row["error"] = str(e)
        results.append(row)
    return pixels


def apply(fn, imgs: list, label: str):
    """`fn(imgs)`, its failures as one-line GanctlErrors (e.g. an image too thin for the
    net)."""
    try:
        return fn(imgs)
    except (RuntimeError, ValueError, MemoryError) as e:
        detail = str(e).splitlines()[0][:120] if str(e) else "no detail"
        raise GanctlError(f"{label}: cannot process ({type(e).__name__}: {detail})") from None

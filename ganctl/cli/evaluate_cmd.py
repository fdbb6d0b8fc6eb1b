"""`ganctl evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import (
    device_option,
    json_option,
    print_json,
    say_weights,
    threads_option,
    weights_option,
    weights_record,
)


@app.command(no_args_is_help=True)
def evaluate(
    name: str = typer.Argument(..., metavar="TARGET", help="A plugin (a generator, or a "
                               "translation name with --pairs or --source/--target), a run "
                               "folder, or `upscale` (an upscaler on your photos, --hr)."),
    metric: str = typer.Option(None, "--metric", help="Comma list of fd, kid, pr "
                               "(k-NN precision and recall, k=3); default fd,kid."),
    extractor_spec: str = typer.Option(None, "--extractor", help="classifier "
                                       "(Fashion-MNIST CNN, for 28 px; sneakers' default), "
                                       "inception (the FID network of published FIDs), "
                                       "inception-torchvision, or torchscript:PATH[@SIZE]."),
    real: str = typer.Option(None, "--real", help="Real dataset (name, folder or synthetic; "
                             "default: what the weights were trained on)."),
    n: int = typer.Option(None, "-n", help="Generated and real images to compare (default "
                          "1000)."),
    hr: Path = typer.Option(None, "--hr", help="evaluate upscale: a folder of "
                            "high-resolution images to down-sample, upscale and compare."),
    model: str = typer.Option(None, "--model", "-m", help="evaluate upscale: an upscaler by "
                              "name (as `ganctl upscale --model`)."),
    csv_out: Path = typer.Option(None, "--csv", help="evaluate upscale and --pairs: "
                                 "per-image scores as CSV."),
    pairs: Path = typer.Option(None, "--pairs", help="Paired translation (pix2pix names): a "
                               "folder of A|B images, or with A/ and B/ matched by name; "
                               "prints L1, PSNR, SSIM and LPIPS against the true outputs."),
    source: Path = typer.Option(None, "--source", help="Unpaired translation (CycleGAN "
                                "names): images to translate, scored with --target."),
    target: Path = typer.Option(None, "--target", help="Unpaired translation: real images "
                                "of the output domain (FID/KID against the translations)."),
    lpips_net: str = typer.Option("alex", "--lpips", help="--pairs: LPIPS backbone, alex "
                                  "(the paper's default), vgg, or none (no download)."),
    weights: str = weights_option(),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Score a generator (Frechet distance and KID) or an upscaler (PSNR/SSIM with the
    super-resolution papers' protocol), labelled with how they were made.

    Examples:

      ganctl evaluate sneakers --real fashion-sneakers -n 1000

      ganctl evaluate runs/faces/00003-celeba-dcgan --extractor inception --json

      ganctl evaluate upscale --hr photos/ --model realesrnet-x4plus
    """
    from ganctl.errors import UsageError

    if name == "upscale":
        given = [f for f, v in (("--metric", metric), ("--extractor", extractor_spec),
                                ("--real", real), ("-n", n), ("--pairs", pairs),
                                ("--source", source), ("--target", target)) if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: not for `evaluate upscale`")
        if hr is None:
            raise UsageError("evaluate upscale needs --hr FOLDER of high-resolution images")
        from ganctl.cli.evaluate_sr import evaluate_upscaler

        return evaluate_upscaler(hr, model, weights, csv_out, device, as_json)
    given = [f for f, v in (("--hr", hr), ("--model", model)) if v]
    if given:
        raise UsageError(f"{', '.join(given)}: only for `ganctl evaluate upscale`")
    if lpips_net not in ("alex", "vgg", "none"):
        raise UsageError("--lpips takes alex, vgg or none")
    if pairs or source or target:
        return _translation(name, pairs=pairs, source=source,
                            target=target, extractor_spec=extractor_spec, metric=metric,
                            real=real, n=n, csv_out=csv_out, lpips_net=lpips_net,
                            weights=weights, device=device, as_json=as_json)
    if csv_out or lpips_net != "alex":
        raise UsageError("--csv and --lpips score upscalers and paired translation "
                         "(--hr, --pairs)")
    return _generator(name, metric, extractor_spec, real, n, weights, device, as_json)


def _generator(name, metric, extractor_spec, real, n, weights, device, as_json) -> None:
    """evaluate NAME (a generator or its run folder): FD/KID/PR against real images."""
    from ganctl.errors import UsageError

    metric, n = metric or "fd,kid", 1000 if n is None else n
    import json

    from ganctl import config, registry
    from ganctl import weights as weights_mod
    from ganctl.console import info
    from ganctl.device import resolve
    from ganctl.metrics import evaluate as ev
    from ganctl.tensors import to_unit

    metrics = [m.strip() for m in metric.split(",") if m.strip()]
    if not metrics or set(metrics) - {"fd", "kid", "pr"}:
        raise UsageError("--metric takes fd, kid and/or pr")
    if n < 2:
        raise UsageError("-n must be at least 2")
    run = Path(name)
    if run.is_dir() and (run / "config.json").is_file():
        doc = json.loads((run / "config.json").read_text())
        plugin, weights = registry.get(doc["plugin"]), weights or str(run)
    else:
        plugin = registry.get(name)
    if plugin.task != "generate":
        raise UsageError(f"evaluate scores generators; {plugin.name} is a {plugin.task} plugin")
    extractor_spec = extractor_spec or plugin.default_extractor
    if extractor_spec is None:
        raise UsageError(f"{plugin.name} has no default feature extractor (the classifier "
                         "knows only 28-px Fashion-MNIST): pass --extractor inception or "
                         "--extractor torchscript:PATH@SIZE")
    dev = resolve(device)
    ext = ev.extractor(extractor_spec, dev)  # first: a missing extractor fails fast
    payload = weights_mod.for_plugin(plugin, 1, weights)
    say_weights(plugin, payload)
    real = real or (payload.dataset or {}).get("name", "synthetic")
    real = "synthetic" if str(real).startswith("synthetic") else real
    cfg = config.build(plugin.config_class(1), {})
    data = plugin.load_data(cfg, real, 1)
    real_images = data.train.tensors[0]
    if len(real_images) < n:
        info(f"the real set has {len(real_images)} images; using all of them")
    count = min(n, len(real_images))
    key = f"{data.info.fingerprint}|{data.info.size}|{count}"
    real_feats, hit = ev.reference_features(ext, key,
                                            lambda: to_unit(real_images[:count]), dev)
    fakes = plugin.generate(payload, list(range(n)), dev)
    scores = ev.score(metrics, ext, ext(fakes, dev), real_feats)
    result = {"plugin": plugin.name, "weights": weights_record(payload, plugin), **scores,
              "extractor": ext.name, "extractor_sha256": ext.sha256,
              "extractor_input": f"{ext.size}x{ext.size}x{ext.channels}",
              "resize": ext.resize or ev.FID_RESIZE, "generated_size": list(fakes.shape[1:]),
              "real": data.info.name, "n_real": count, "n_fake": n,
              "fake_seeds": f"0-{n - 1}", "reference_stats_cached": hit}
    if as_json:
        print_json(result)
    else:
        info("  ".join(f"{k} {v}" for k, v in scores.items()) + f"  ({ext.name}; {n} fakes vs "
             f"{count} real from {data.info.name}; resize {ext.resize or ev.FID_RESIZE})")


def _translation(name, pairs, source, target, extractor_spec, metric, real, n,
                 csv_out, lpips_net, weights, device, as_json) -> None:
    """evaluate NAME --pairs DIR, or --source DIR --target DIR."""
    from ganctl import registry
    from ganctl.cli.evaluate_translation import evaluate_paired, evaluate_unpaired
    from ganctl.errors import UsageError

    plugin = registry.get(name)
    if plugin.task != "translate":
        raise UsageError(f"--pairs, --source and --target score translation plugins; "
                         f"{plugin.name} is a {plugin.task} plugin")
    if real is not None or n is not None:
        raise UsageError("--real and -n score generators")
    if pairs:
        if source or target or extractor_spec or metric:
            raise UsageError("--pairs scores against true outputs: --source, --target, "
                             "--extractor and --metric are for unpaired folders")
        return evaluate_paired(plugin, pairs, weights, lpips_net, csv_out, device, as_json)
    if not (source and target):
        raise UsageError("unpaired evaluation needs both --source and --target")
    if csv_out or lpips_net != "alex":
        raise UsageError("--csv and --lpips are for --pairs")
    metrics = [m.strip() for m in (metric or "fd,kid").split(",") if m.strip()]
    if not metrics or set(metrics) - {"fd", "kid", "pr"}:
        raise UsageError("--metric takes fd, kid and/or pr")
    return evaluate_unpaired(plugin, source, target, extractor_spec or "inception", metrics,
                             weights, device, as_json)

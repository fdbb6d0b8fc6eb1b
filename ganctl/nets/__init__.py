"""nn.Modules only. `build(name, **kwargs)` recreates a net from a checkpoint's arch record."""

from __future__ import annotations

from torch import nn

from ganctl.nets import dcgan, esrgan, faces, mlp, patchgan, resnet_generator, srgan, unet, vae

NETS: dict[str, type[nn.Module]] = {
    "dcgan_g": dcgan.Generator,
    "dcgan_d": dcgan.Discriminator,
    "dcgan_original_g": dcgan.OriginalGenerator,
    "dcgan_original_d": dcgan.OriginalDiscriminator,
    "mlp_g": mlp.Generator,
    "mlp_d": mlp.Discriminator,
    "srgan_g": srgan.Generator,
    "srgan_d": srgan.Discriminator,
    "sr_compact_g": srgan.CompactGenerator,
    "sr_lr_g": srgan.LRGenerator,
    "rrdb_g": esrgan.RRDBNet,
    "srvgg_g": esrgan.SRVGGNetCompact,
    "unet": unet.UnetGenerator,
    "patchgan": patchgan.PatchDiscriminator,
    "resnet_generator": resnet_generator.ResnetGenerator,
    "vae": vae.ConvVAE,
    "faces_dcgan_g": faces.DCGANGenerator,
    "faces_dcgan_d": faces.DCGANDiscriminator,
    "faces_csp_g": faces.CSPGenerator,
    "faces_resnet_d": faces.ResNetDiscriminator,
}


def register(name: str, cls: type[nn.Module]) -> None:
    """Make a net class buildable by name (third-party plugins call this for their nets).
    A name already taken by another class is refused: a checkpoint's arch record must
    always rebuild the net it was saved from."""
    prev = NETS.get(name, cls)
    if (prev.__module__, prev.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"net name {name!r} is already registered for "
                         f"{NETS[name].__module__}.{NETS[name].__qualname__}")
    NETS[name] = cls


def build(name: str, **kwargs) -> nn.Module:
    if name not in NETS:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(NETS))}")
    return NETS[name](**kwargs)


def arch(name: str, **kwargs) -> dict:
    """The record a checkpoint stores to rebuild a net: {"name": ..., "kwargs": {...}}."""
    return {"name": name, "kwargs": kwargs}


def from_arch(record) -> nn.Module:
    """The net an arch record names: {"name": ..., "kwargs": {...}}, or an object with
    those two attributes (`ganctl.weights.Arch`)."""
    if isinstance(record, dict):
        return build(record["name"], **record["kwargs"])
    return build(record.name, **record.kwargs)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN init: conv/linear weights N(0, std), norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = getattr(m, "weight_orig", m.weight)
            nn.init.normal_(weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)

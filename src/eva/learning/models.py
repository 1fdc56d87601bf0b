"""The generator G(M, I_s) -> robot self-image and the inverse model F(I) -> motor classes (paper IV-C, IV-D).

Images are float tensors (B, C, H, W) in [0, 1]; masks are the paper's 2-channel
landmark masks (B, 2, H, W). Both models return ``(output, loss or None)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eva.learning.config import GeneratorConfig, InverseConfig


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv -> BatchNorm -> ReLU (the building block of both models)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def num_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Generator(nn.Module):
    """Fully convolutional encoder-decoder with skip connections and refinement layers.

    Input: the landmark mask M (2 channels) concatenated with the static self-image I_s
    (3 channels). The encoder halves the resolution ``depth`` times; each decoder level
    upsamples, concatenates the encoder features of its resolution and refines them with
    ``refine_layers`` 3x3 convs (hierarchical refinement, coarse to fine). The last layer
    predicts the change to I_s (paper IV-C: the network outputs the "change").
    """

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        widths = [min(cfg.base_channels * 2 ** i, cfg.max_channels) for i in range(cfg.depth + 1)]
        f = cfg.space_to_depth
        self.unshuffle = nn.PixelUnshuffle(f)  # lossless: each landmark pixel stays a distinct input
        self.stem = nn.Sequential(conv_block(5 * f * f, widths[0]), conv_block(widths[0], widths[0]))
        self.down = nn.ModuleList(
            nn.Sequential(conv_block(widths[i], widths[i + 1], stride=2), conv_block(widths[i + 1], widths[i + 1]))
            for i in range(cfg.depth))
        self.up = nn.ModuleList()
        for i in reversed(range(cfg.depth)):  # decoder level i: from widths[i+1] at 1/2**(i+1) to widths[i]
            layers = [conv_block(widths[i + 1] + widths[i], widths[i])]
            layers += [conv_block(widths[i], widths[i]) for _ in range(cfg.refine_layers)]
            self.up.append(nn.Sequential(*layers))
        self.head = nn.Conv2d(widths[0], 3 * f * f, 1)
        self.shuffle = nn.PixelShuffle(f)  # sub-pixel output: full resolution from 1/f features
        nn.init.zeros_(self.head.weight)  # starts as the identity on I_s
        nn.init.zeros_(self.head.bias)

    def forward(self, mask: torch.Tensor, static: torch.Tensor, target: torch.Tensor | None = None):
        """Synthesises robot self-images.

        Args:
            mask: (B, 2, H, W) landmark masks.
            static: (B, 3, H, W) static self-image I_s in [0, 1].
            target: (B, 3, H, W) real robot images in [0, 1], or None.

        Returns:
            (image (B, 3, H, W) clamped to [0, 1], pixel MSE of the unclamped output or None).
        """
        x = self.stem(self.unshuffle(torch.cat([mask, static], dim=1)))
        skips = [x]
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        out = static + self.shuffle(self.head(x))
        loss = F.mse_loss(out, target) if target is not None else None
        return out.clamp(0.0, 1.0), loss


class InverseModel(nn.Module):
    """Six conv layers and a fully-connected head: image (or mask) -> logits (B, num_motors, num_levels)."""

    def __init__(self, cfg: InverseConfig):
        super().__init__()
        self.cfg = cfg
        layers, c_in = [], cfg.in_channels
        w, h = cfg.image_size
        for c_out, stride in zip(cfg.channels, cfg.strides):
            layers.append(conv_block(c_in, c_out, stride))
            c_in = c_out
            w, h = (w + stride - 1) // stride, (h + stride - 1) // stride  # 3x3, padding 1
        self.features = nn.Sequential(*layers)
        head, n_in = [nn.Flatten()], c_in * w * h
        for n_out in cfg.fc_hidden:
            head += [nn.Dropout(cfg.dropout), nn.Linear(n_in, n_out), nn.ReLU(inplace=True)]
            n_in = n_out
        head += [nn.Dropout(cfg.dropout), nn.Linear(n_in, cfg.num_motors * cfg.num_levels)]
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """Classifies each motor's command level.

        Args:
            x: (B, in_channels, H, W) images in [0, 1] or landmark masks.
            labels: (B, num_motors) int64 level indices, or None.

        Returns:
            (logits (B, num_motors, num_levels), sum over motors of the mean cross-entropy, or None).
        """
        logits = self.head(self.features(x)).view(-1, self.cfg.num_motors, self.cfg.num_levels)
        loss = None
        if labels is not None:  # mean over the batch of sum over motors = sum over motors of mean CE
            loss = F.cross_entropy(logits.reshape(-1, self.cfg.num_levels), labels.reshape(-1)) * self.cfg.num_motors
        return logits, loss


def build_model(kind: str, cfg) -> nn.Module:
    """The model of ``kind`` ("generator", "inverse", "landmark-to-motor") for its config."""
    if kind == "generator":
        return Generator(cfg)
    if kind in ("inverse", "landmark-to-motor"):
        return InverseModel(cfg)
    raise ValueError(f"unknown model kind {kind!r}")

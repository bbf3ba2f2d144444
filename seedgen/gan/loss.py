"""GAN losses: non-saturating logistic loss, lazy R1 on reals, and StyleGAN2's path-length regularization.

Training alternates phases (`Gmain`, `Greg`, `Dmain`, `Dreg`, or `Gboth`/`Dboth` without lazy
regularization). Regularizers run every `interval` steps with their loss multiplied by `gain =
interval`, so on average they weigh what they would weigh every step (StyleGAN2's lazy
regularization). D always sees images through the ADA pipe, reals included, so its gradient
penalty is taken with respect to the un-augmented real image, as the ADA paper does.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

PHASES = ("Gmain", "Greg", "Gboth", "Dmain", "Dreg", "Dboth")
Stats = dict[str, torch.Tensor]


class LogisticGANLoss:
    """Non-saturating logistic loss (softplus form) with optional lazy R1; works for any G(z) and D(img)."""

    def __init__(self, G: nn.Module, D: nn.Module, augment: nn.Module | None = None, r1_gamma: float = 0.0,
                 observe_real: Callable[[torch.Tensor], None] | None = None) -> None:
        self.G, self.D, self.augment, self.r1_gamma = G, D, augment, float(r1_gamma)
        self.observe_real = observe_real   # receives D's logits on reals (the ADA heuristic's r_t)

    # -- the networks as the loss sees them ---------------------------------------------------------
    def run_G(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generated images (and the latents the regularizer differentiates against, if any)."""
        return self.G(z, _no_labels(z)), None

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            img = self.augment(img)
        return self.D(img, _no_labels(img))

    # -- one phase ------------------------------------------------------------------------------------
    def accumulate_gradients(self, phase: str, real_img: torch.Tensor, gen_z: torch.Tensor,
                             gain: float = 1.0) -> Stats:
        """Add this phase's gradients into .grad of the networks that require grad; return detached stats."""
        if phase not in PHASES:
            raise ValueError(f"unknown training phase {phase!r}")
        stats: Stats = {}
        if phase in ("Gmain", "Gboth"):
            gen_img, _ = self.run_G(gen_z)
            gen_logits = self.run_D(gen_img)
            loss_g = F.softplus(-gen_logits)        # -log(sigmoid(D(G(z))))
            loss_g.mean().mul(gain).backward()
            stats["Loss/G/loss"] = loss_g.detach().mean()
            stats["Loss/scores/fake"] = gen_logits.detach().mean()
        if phase in ("Greg", "Gboth"):
            stats.update(self.generator_regularizer(gen_z, gain))
        do_d_main = phase in ("Dmain", "Dboth")
        do_r1 = phase in ("Dreg", "Dboth") and self.r1_gamma > 0
        loss_d_gen: torch.Tensor | float = 0.0
        if do_d_main:
            with torch.no_grad():
                gen_img, _ = self.run_G(gen_z)
            gen_logits = self.run_D(gen_img)
            loss_d_gen = F.softplus(gen_logits)     # -log(1 - sigmoid(D(G(z))))
            loss_d_gen.mean().mul(gain).backward()
            stats["Loss/scores/fake"] = gen_logits.detach().mean()
        if do_d_main or do_r1:
            real = real_img.detach().requires_grad_(do_r1)
            real_logits = self.run_D(real)
            if self.observe_real is not None:
                self.observe_real(real_logits)
            stats["Loss/scores/real"] = real_logits.detach().mean()
            stats["Loss/signs/real"] = real_logits.detach().sign().mean()
            total = real_logits * 0
            if do_d_main:
                loss_d_real = F.softplus(-real_logits)
                total = total + loss_d_real
                stats["Loss/D/loss"] = (loss_d_gen.detach() + loss_d_real.detach()).mean()
            if do_r1:
                (grads,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True, only_inputs=True)
                r1_penalty = grads.square().sum(dim=[1, 2, 3])
                total = total + (r1_penalty * (self.r1_gamma / 2)).unsqueeze(1)
                stats["Loss/r1_penalty"] = r1_penalty.detach().mean()
            total.mean().mul(gain).backward()
        return stats

    def generator_regularizer(self, gen_z: torch.Tensor, gain: float) -> Stats:
        """The generator has no regularizer in the plain logistic GAN."""
        return {}


class StyleGAN2Loss(LogisticGANLoss):
    """Adds style mixing on w and path-length regularization to the logistic loss (Karras et al. 2020)."""

    def __init__(self, G: nn.Module, D: nn.Module, augment: nn.Module | None = None, r1_gamma: float = 10.0,
                 observe_real: Callable[[torch.Tensor], None] | None = None, style_mixing_prob: float = 0.9,
                 pl_weight: float = 2.0, pl_decay: float = 0.01, pl_batch_shrink: int = 2,
                 device: torch.device | str = "cpu") -> None:
        super().__init__(G, D, augment, r1_gamma, observe_real)
        self.style_mixing_prob, self.pl_weight = style_mixing_prob, pl_weight
        self.pl_decay, self.pl_batch_shrink = pl_decay, pl_batch_shrink
        self.pl_mean = torch.zeros([], device=device)   # running mean path length, kept in snapshots

    def run_G(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = _no_labels(z)
        ws = self.G.mapping(z, c)
        ws = mix_styles(ws, lambda: self.G.mapping(torch.randn_like(z), c, skip_w_avg_update=True),
                        self.style_mixing_prob)
        return self.G.synthesis(ws), ws

    def generator_regularizer(self, gen_z: torch.Tensor, gain: float) -> Stats:
        """Path-length regularization: keep |J_w^T y| constant, y random images; every `interval` steps."""
        if self.pl_weight == 0:
            return {}
        batch = max(gen_z.shape[0] // self.pl_batch_shrink, 1)
        gen_img, gen_ws = self.run_G(gen_z[:batch])
        pl_noise = torch.randn_like(gen_img) / math.sqrt(gen_img.shape[2] * gen_img.shape[3])
        (pl_grads,) = torch.autograd.grad((gen_img * pl_noise).sum(), gen_ws, create_graph=True, only_inputs=True)
        pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
        pl_mean = self.pl_mean.lerp(pl_lengths.mean().detach().to(self.pl_mean.dtype), self.pl_decay)
        self.pl_mean.copy_(pl_mean)
        pl_penalty = (pl_lengths - pl_mean).square()
        (gen_img[:, 0, 0, 0] * 0 + pl_penalty * self.pl_weight).mean().mul(gain).backward()
        return {"Loss/pl_penalty": pl_penalty.detach().mean(), "Loss/pl_mean": pl_mean.detach().clone()}


def mix_styles(ws: torch.Tensor, other: Callable[[], torch.Tensor], prob: float) -> torch.Tensor:
    """With probability `prob`, layers from a random cutoff on take their w from `other()` (style mixing)."""
    num_ws = ws.shape[1]
    if prob <= 0 or num_ws < 2:
        return ws
    cutoff = torch.randint(1, num_ws, [], device=ws.device)
    cutoff = torch.where(torch.rand([], device=ws.device) < prob, cutoff, torch.full_like(cutoff, num_ws))
    keep = (torch.arange(num_ws, device=ws.device) < cutoff).view(1, num_ws, 1)
    return torch.where(keep, ws, other())


def _no_labels(x: torch.Tensor) -> torch.Tensor:
    """Unconditional models take an empty label tensor [N, 0], as the official networks do."""
    return torch.zeros([x.shape[0], 0], device=x.device)

"""Small MLPs with posterior samples: MC dropout (the DiscoBAX code's model on the genomic screens:
hidden width 8, dropout 0.5) and a deep ensemble.

Both are one :class:`BatchedMLP` whose weights carry a leading "member" axis, so an ensemble of K
networks trains as one batched matmul instead of K loops. A posterior sample must be one coherent
*function* over all candidates (the information-gain estimators use the covariance between
candidates), so an MC-dropout draw keeps one dropout mask for every candidate of that draw; with
independent masks per candidate, samples at different candidates would be uncorrelated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from plasticlab.design.models.base import Posterior, sample_posterior


class BatchedMLP(nn.Module):
    """``members`` independent ReLU MLPs evaluated together: (members or draws, n, d) → (…, n)."""

    def __init__(self, members: int, inputs: int, hidden: list[int], generator: torch.Generator) -> None:
        super().__init__()
        sizes = [inputs, *hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)  # torch.nn.Linear's default init range
            self.weights.append(nn.Parameter((torch.rand(members, fan_in, fan_out, generator=generator) * 2 - 1) * bound))
            self.biases.append(nn.Parameter((torch.rand(members, 1, fan_out, generator=generator) * 2 - 1) * bound))

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``masks[i]`` (broadcastable to the i-th hidden activation) is multiplied in after its ReLU."""
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = x @ weight + bias
            if i < len(self.weights) - 1:
                x = torch.relu(x)
                if masks is not None:
                    x = x * masks[i]
        return x.squeeze(-1)


@dataclass
class MLPModel:
    """MC dropout (``members=1, dropout>0``) or a deep ensemble (``members>1``), trained from scratch
    each cycle on standardised outcomes with full-batch Adam."""

    members: int = 1
    dropout: float = 0.5
    hidden: list[int] = field(default_factory=lambda: [8])
    epochs: int = 100
    learning_rate: float = 1e-2
    weight_decay: float = 1e-4
    prediction_samples: int = 32  # MC draws behind the mean/std when an acquisition asks for fewer
    device: str = "cpu"

    def _masks(self, draws: int, generator: torch.Generator) -> list[torch.Tensor]:
        """One inverted-dropout mask per draw and hidden layer, shared by all inputs of that draw."""
        keep = 1.0 - self.dropout
        return [(torch.rand(draws, 1, width, generator=generator) < keep).to(self.device) / keep for width in self.hidden]

    def fit(self, features: np.ndarray, outcomes: np.ndarray, rng: np.random.Generator) -> None:
        y = np.asarray(outcomes, dtype=float)
        self._offset, self._scale = float(y.mean()), float(y.std()) or 1.0
        self._generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        self.net = BatchedMLP(self.members, features.shape[1], list(self.hidden), self._generator).to(self.device)
        x = torch.as_tensor(features, dtype=torch.float32, device=self.device).expand(self.members, -1, -1)
        z = torch.as_tensor((y - self._offset) / self._scale, dtype=torch.float32, device=self.device)
        optimiser = torch.optim.Adam(self.net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        for _ in range(self.epochs):
            masks = self._masks(self.members, self._generator) if self.dropout > 0 else None
            loss = ((self.net(x, masks) - z) ** 2).mean() * self.members  # sum over members of their MSE
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        self._train = (features, y)

    @torch.no_grad()
    def _draws(self, candidates: np.ndarray, samples: int) -> np.ndarray:
        x = torch.as_tensor(candidates, dtype=torch.float32, device=self.device)
        if self.dropout > 0 and self.members == 1:
            out = self.net(x.expand(samples, -1, -1), self._masks(samples, self._generator))
        else:  # an ensemble's draws are its members (dropout, if any, also on at prediction)
            masks = self._masks(self.members, self._generator) if self.dropout > 0 else None
            out = self.net(x.expand(self.members, -1, -1), masks)
        return self._offset + self._scale * out.cpu().numpy().astype(float)

    def posterior(self, candidates: np.ndarray, samples: int, rng: np.random.Generator) -> Posterior:
        """Joint draws over all candidates; the noise variance is the training residual of their mean."""
        samples = max(samples, self.prediction_samples)
        draws = self._draws(candidates, samples)
        train_x, train_y = self._train
        residual = float(np.mean((self._draws(train_x, samples).mean(axis=0) - train_y) ** 2))
        return sample_posterior(draws, noise_variance=max(residual, 1e-6 * self._scale**2))

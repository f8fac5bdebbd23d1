"""Value-based deep-RL agents (DQN, data-efficient Rainbow) sharing one replay and one loop.

``AGENTS`` maps a config's ``agent`` name to its class; an agent's hyperparameters are one
dataclass with the paper's values (``DQNConfig``, ``DERConfig``), overridden per study by
``agent_options``. :func:`plasticlab.agents.loop.train_agent` runs any of them.
"""

from __future__ import annotations

from plasticlab.agents.der import DER, DERConfig
from plasticlab.agents.dqn import DQN, DQNConfig

AGENTS: dict[str, type[DQN]] = {"dqn": DQN, "der": DER}


def get_agent(name: str) -> type[DQN]:
    try:
        return AGENTS[name]
    except KeyError:
        raise KeyError(f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}") from None


__all__ = ["AGENTS", "DER", "DERConfig", "DQN", "DQNConfig", "get_agent"]

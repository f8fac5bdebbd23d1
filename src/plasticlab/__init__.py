"""plasticlab: reproducible studies of plasticity and generalization loss in deep (RL) learning."""

__version__ = "0.1.0"

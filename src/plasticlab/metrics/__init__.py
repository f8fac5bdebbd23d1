"""Plasticity, curvature and representation metrics, computed on saved or live networks."""

from plasticlab.metrics.curvature import (
    HessianOperator,
    gauss_newton_top_eigenvalue,
    hessian_top_eigenvalue_lanczos,
    hessian_top_eigenvalue_power,
    hessian_trace_hutchinson,
    lanczos_top,
    power_iteration,
)
from plasticlab.metrics.representation import (
    dormant_fraction,
    dormant_scores,
    effective_rank,
    feature_norm,
    gradient_norm,
    layer_activations,
    parameter_norm,
    penultimate_features,
    preactivation_stats,
    saturated_fraction,
    srank,
    stable_rank,
)

__all__ = [
    "HessianOperator", "dormant_fraction", "dormant_scores", "effective_rank", "feature_norm",
    "gauss_newton_top_eigenvalue", "gradient_norm", "hessian_top_eigenvalue_lanczos", "hessian_top_eigenvalue_power",
    "hessian_trace_hutchinson", "lanczos_top", "layer_activations", "parameter_norm", "penultimate_features",
    "power_iteration", "preactivation_stats", "saturated_fraction", "srank", "stable_rank",
]

"""Plasticity, curvature and representation metrics, computed on saved or live networks."""

from plasticlab.metrics.curvature import (
    HessianOperator,
    flatten,
    gauss_newton_operator,
    gauss_newton_top_eigenvalue,
    hessian_top_eigenvalue_lanczos,
    hessian_top_eigenvalue_power,
    hessian_trace_hutchinson,
    hvp,
    lanczos_top,
    power_iteration,
    unflatten,
)
from plasticlab.metrics.probe import ProbeConfig, plasticity_probe
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
    singular_values,
    srank,
    stable_rank,
)

__all__ = [
    "HessianOperator", "ProbeConfig", "plasticity_probe", "dormant_fraction", "dormant_scores", "effective_rank", "feature_norm",
    "gauss_newton_top_eigenvalue", "gradient_norm", "hessian_top_eigenvalue_lanczos", "hessian_top_eigenvalue_power",
    "hessian_trace_hutchinson", "lanczos_top", "layer_activations", "parameter_norm", "penultimate_features",
    "power_iteration", "preactivation_stats", "saturated_fraction", "srank", "stable_rank",
    "flatten", "unflatten", "hvp", "gauss_newton_operator", "singular_values",
]

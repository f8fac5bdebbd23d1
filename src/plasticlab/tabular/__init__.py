"""Tabular distributional RL: finite MRPs, TD and QTD over seed × step-size grids, categorical and
quantile dynamic programming, and DCFP (Rowland et al. 2023; 2024).

Pure NumPy/SciPy; one module per algorithm: ``td``, ``qtd`` (``qtd_grid``: its layout for the grid),
``categorical_dp``, ``quantile_dp``, ``dcfp``, with ``projections`` and ``distances`` as the shared mathematics.
"""

from plasticlab.tabular.categorical_dp import categorical_dp
from plasticlab.tabular.dcfp import dcfp
from plasticlab.tabular.environments import ENVIRONMENTS, build_mrp
from plasticlab.tabular.grid import learners_for, run_grid
from plasticlab.tabular.model import Model, empirical_model, merge_duplicates, true_model
from plasticlab.tabular.mrp import MRP
from plasticlab.tabular.noise import NOISES
from plasticlab.tabular.quantile_dp import quantile_dp

__all__ = ["ENVIRONMENTS", "MRP", "Model", "NOISES", "build_mrp", "categorical_dp", "dcfp", "empirical_model",
           "learners_for", "merge_duplicates", "quantile_dp", "run_grid", "true_model"]

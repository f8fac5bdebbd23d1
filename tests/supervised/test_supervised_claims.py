"""The claims of warmstart, disentangle and capacity, evaluated on tables with known answers."""

from __future__ import annotations

import pandas as pd

from plasticlab import studies
from plasticlab.analysis.claims import evaluate_claim


def _row(variant, x, metric, mean, low, high, n=5, **extra):
    return {"variant": variant, "x": x, "metric": metric, "mean": mean, "ci_low": low, "ci_high": high, "n_seeds": n, **extra}


def _verdicts(study_name: str, table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    rows = [row for claim in studies.get(study_name).claims for row in evaluate_claim(claim, table)]
    return {row["claim_id"]: (row["verdict"], row["failed_precondition"]) for row in rows}


def _warmstart_table(warm_fits=0.0, tortoise_fits=0.0, gap=(0.01, 0.005, 0.015), tortoise=(0.02, 0.01, 0.03)):
    rows = [
        _row("fresh", 1, "test_accuracy_minus_warm", 0.5, 0.4, 0.6),  # earlier phases are not read
        _row("fresh", 2, "test_accuracy_minus_warm", *gap),
        _row("shrink_perturb", 2, "test_accuracy_minus_warm", 0.0, -0.01, 0.01),
        _row("hare_tortoise", 2, "test_accuracy_minus_warm", *tortoise),
        _row("warm", 2, "train_accuracy_minus_fresh", warm_fits, warm_fits - 0.002, warm_fits + 0.002),
        _row("shrink_perturb", 2, "train_accuracy_minus_fresh", 0.0, 0.0, 0.0),
        _row("hare_tortoise", 2, "train_accuracy_minus_fresh", tortoise_fits, tortoise_fits - 0.005, tortoise_fits + 0.005),
    ]
    return pd.DataFrame(rows)


def test_warmstart_claims():
    verdicts = _verdicts("warmstart", _warmstart_table())
    assert verdicts == {"warm_start_gap": ("reproduced", ""), "shrink_perturb_closes_gap": ("inconclusive", ""),
                        "hare_tortoise_beats_warm": ("reproduced", "")}
    # a Tortoise that does not fit its data, or a warm network that does not: nothing to judge
    verdicts = _verdicts("warmstart", _warmstart_table(tortoise_fits=-0.2, tortoise=(-0.2, -0.3, -0.1)))
    assert verdicts["hare_tortoise_beats_warm"] == ("untestable", "hare_tortoise_fits_as_well_as_fresh")
    verdicts = _verdicts("warmstart", _warmstart_table(warm_fits=-0.05))
    assert all(v == "untestable" for v, _ in verdicts.values())
    # no warm-start gap: the interventions that close it cannot be judged, the gap claim is contradicted
    verdicts = _verdicts("warmstart", _warmstart_table(gap=(-0.01, -0.015, -0.005)))
    assert verdicts["warm_start_gap"] == ("contradicted", "")
    assert verdicts["hare_tortoise_beats_warm"] == ("untestable", "warm_start_gap_exists")
    # a variant that was not run leaves its claim inconclusive instead of failing
    table = _warmstart_table()
    verdicts = _verdicts("warmstart", table[table.variant != "hare_tortoise"])
    assert verdicts["hare_tortoise_beats_warm"][0] == "untestable"


def _disentangle_table(declines: dict[str, tuple[float, float, float]], gains: dict[str, tuple[float, float, float]],
                       rival: dict[str, tuple[float, float, float]]):
    rows = []
    for stream in declines:
        rows.append(_row(f"{stream}.none", 1, "train_score", 0.9, 0.8, 1.0, stream=stream, intervention="none"))
        rows.append(_row(f"{stream}.none", 8, "score_last_minus_first", *declines[stream], stream=stream, intervention="none"))
        rows.append(_row(f"{stream}.layernorm+weight_decay", 8, "train_score_minus_none", *gains[stream],
                         stream=stream, intervention="layernorm+weight_decay"))
        rows.append(_row(f"{stream}.layernorm", 8, "train_score_minus_layernorm+weight_decay", *rival[stream],
                         stream=stream, intervention="layernorm"))
        rows.append(_row(f"{stream}.reset", 8, "train_score_minus_layernorm+weight_decay", -0.5, -0.6, -0.4,
                         stream=stream, intervention="reset"))
        rows.append(_row(f"{stream}.none", 8, "train_score_minus_layernorm+weight_decay", -0.6, -0.7, -0.5,
                         stream=stream, intervention="none"))
    return pd.DataFrame(rows)


def test_disentangle_claims_need_the_plain_network_to_decline_on_two_streams():
    table = _disentangle_table({"a": (-0.3, -0.4, -0.2), "b": (-0.2, -0.3, -0.1)},
                               {"a": (0.3, 0.2, 0.4), "b": (-0.1, -0.2, -0.05)},
                               {"a": (-0.1, -0.2, -0.05), "b": (0.05, -0.01, 0.1)})
    verdicts = _verdicts("disentangle", table)
    assert verdicts["ln_wd_mitigates[a]"] == ("reproduced", "")
    assert verdicts["ln_wd_mitigates[b]"] == ("contradicted", "")
    # the strongest rival (largest X − LN+WD; "none" is not a rival) decides the second claim
    assert verdicts["ln_wd_beats_single_interventions[a vs layernorm]"] == ("reproduced", "")
    assert verdicts["ln_wd_beats_single_interventions[b vs layernorm]"] == ("inconclusive", "")
    flat = _disentangle_table({"a": (-0.3, -0.4, -0.2), "b": (0.0, -0.1, 0.1)}, {"a": (0.3, 0.2, 0.4), "b": (0.1, 0.0, 0.2)},
                              {"a": (-0.1, -0.2, -0.05), "b": (-0.1, -0.2, -0.05)})
    verdicts = _verdicts("disentangle", flat)
    assert {v for v, _ in verdicts.values()} == {"untestable"}
    assert all(failed == "plain_loses_plasticity" for _, failed in verdicts.values())


def test_capacity_claims():
    def table(loss, gap, rank_change=(-10.0, -15.0, -5.0)):
        return pd.DataFrame([
            _row("none", 8, "capacity_loss", *loss), _row("infer", 8, "capacity_loss", 0.0, -0.1, 0.1),
            _row("infer", 8, "capacity_probe_loss_minus_none", *gap),
            _row("none", 8, "srank_change", *rank_change), _row("infer", 8, "srank_minus_none", 6.0, 2.0, 10.0)])

    verdicts = _verdicts("capacity", table((0.5, 0.2, 0.8), (-0.3, -0.5, -0.1)))
    assert verdicts == {"infer_preserves_capacity": ("reproduced", ""), "infer_preserves_feature_rank": ("reproduced", "")}
    assert _verdicts("capacity", table((0.5, 0.2, 0.8), (0.3, 0.1, 0.5)))["infer_preserves_capacity"] == ("contradicted", "")
    verdicts = _verdicts("capacity", table((0.1, -0.2, 0.3), (-0.3, -0.5, -0.1), rank_change=(1.0, -1.0, 3.0)))
    assert verdicts == {"infer_preserves_capacity": ("untestable", "plain_loses_capacity"),
                        "infer_preserves_feature_rank": ("untestable", "plain_loses_rank")}

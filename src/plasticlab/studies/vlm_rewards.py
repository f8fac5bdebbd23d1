"""Vision-language models as a source of rewards (Baumli et al. 2023, arXiv 2312.09187).

Claim: a CLIP-style model gives a reward for reaching a language goal — the probability of the
goal text against negative texts, softmax over cosine similarities with the model's temperature,
thresholded: r = 1[p ≥ β] — and larger models give more accurate rewards, which give agents that
achieve the goal (by the environment's ground truth) more often.

No pretrained weights can be had offline, so each job trains its own contrastive image-text model
on rendered rooms and their true captions, at the size its variant names; the model is written as
an open_clip-format state dict and read back through the same loader (and reward-model registry)
that would load real CLIP weights, which a ``models`` entry may name instead (``checkpoint:``).

Variants are the reward models (``models``) plus ``oracle`` (the ground-truth reward: the upper
bound, no model trained). A job runs a batch of seeds (``seeds_per_job``, default all in
``seed=0``, since a seed costs seconds on a CPU and a process start-up several) and, per seed:
trains the model (checkpointed per seed: a killed job resumes), measures its reward against the
ground truth on held-out rooms (precision, recall, F1, accuracy at β; ROC-AUC of p; precision and
recall over a sweep of β), then trains goal-conditioned tabular Q-learning on that reward in the
seed's RL rooms (rewards cached per state × goal: one forward pass over the rendered states) and
records ground-truth success during training. Rooms and exploration noise depend on the seed only,
so every variant of a seed faces the same rooms (paired comparisons with the oracle).

Metric rows ``(seed, variant, metric, x, value)``; x is the training step (``contrastive_loss``,
``caption_accuracy``, ``temperature``), the parameter count (``reward_*``), the threshold β
(``precision_at_threshold``, ``recall_at_threshold``) or the agent's training episodes
(``ground_truth_success``, ``reward_model_success``). The oracle job also records, per seed, the
exact success of the uniformly random policy in the same rooms (``random_policy_success``, x = 0).

Claims checked on the table (``claims``), each paired by seed (every variant of a seed faces the
same rooms), comparing the largest reward model with the smallest by parameter count:

- ``larger_model_more_accurate_reward``: reward F1 on held-out rooms, largest − smallest, is
  positive; precondition: the largest model's reward ranks states better than chance
  (ROC-AUC CI above 0.5), i.e. the reward models learnt something.
- ``larger_model_more_capable_agent``: final ground-truth success of the agent trained on the
  largest model's reward − the smallest's is positive; precondition: the agent trained on the
  ground-truth reward succeeds more often than the random policy (otherwise the agent, not the
  reward, limits success).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticlab.analysis.claims import Claim, Precondition, table_estimate
from plasticlab.studies import register
from plasticlab.studies.base import RunSpec, Study
from plasticlab.tabular.batches import batch_seeds, job_count

log = logging.getLogger(__name__)
ORACLE = "oracle"
QUALITY = ["precision", "recall", "f1", "accuracy"]


def _specs(config: dict[str, Any]) -> tuple[Any, Any, Any]:
    from plasticlab.rewards.qlearning import QLearningSpec
    from plasticlab.rewards.training import SceneSpec, TrainingSpec

    return (SceneSpec(**config["scene"]), TrainingSpec(**config.get("training", {})),
            QLearningSpec(**{k: v for k, v in config["agent"].items() if k != "layouts"}))


def seed_rooms(seed: int, scene: Any, count: int, stream: int) -> list[Any]:
    """Rooms of a seed (stream 0: reward evaluation, 1: RL), the same for every variant."""
    from plasticlab.rewards.env import TabularRoom
    from plasticlab.rewards.scenes import random_layout

    rng = np.random.default_rng([seed, 100 + stream])
    return [TabularRoom(random_layout(rng, scene.grid, scene.objects)) for _ in range(count)]


def room_probabilities(reward_model: Any, rooms: list[Any], scene: Any, reward: dict[str, Any]) -> list[np.ndarray]:
    """p(goal | state) ``(goals, states)`` per room: the reward cache, one batched pass per room."""
    return [reward_model.probabilities(room.frames(scene.cell_px), room.goals, reward["negatives"],
                                       reward.get("other_goals_as_negatives", True)).T for room in rooms]


def reward_quality(probabilities: list[np.ndarray], rooms: list[Any], reward: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(metric, x, value) rows: scores at β (x filled in by the caller), ROC-AUC, and the β sweep."""
    from plasticlab.rewards.reward import binary_reward, classification_scores, roc_auc

    p = np.concatenate([q.ravel() for q in probabilities])
    truth = np.concatenate([room.success.ravel() for room in rooms])
    beta = float(reward["threshold"])
    scores = classification_scores(truth, binary_reward(p, beta))
    rows = [(f"reward_{name}", np.nan, value) for name, value in scores.items()]
    rows += [("reward_roc_auc", np.nan, roc_auc(truth, p)), ("reward_positive_rate", np.nan, float((p >= beta).mean()))]
    for threshold in reward.get("sweep", []):
        swept = classification_scores(truth, binary_reward(p, float(threshold)))
        rows += [("precision_at_threshold", float(threshold), swept["precision"]),
                 ("recall_at_threshold", float(threshold), swept["recall"])]
    return rows


def _largest_model(table: pd.DataFrame) -> str:
    """The reward model with the most parameters (x of its ``reward_f1`` rows)."""
    rows = table[table["metric"] == "reward_f1"]
    if rows.empty:
        raise KeyError("table has 0 rows for {'metric': 'reward_f1'}; a claim needs the reward models' rows")
    return str(rows.loc[pd.to_numeric(rows["x"]).idxmax(), "variant"])


def _final_against(metrics: pd.DataFrame, metric: str, baseline: str, new_metric: str) -> pd.DataFrame:
    """Per seed, each variant's last ``metric`` value minus ``baseline``'s (same seed, same rooms),
    summarised over seeds at the variant's own last x (its parameter count, or its episodes)."""
    from plasticlab.analysis import paired_difference

    rows = metrics[metrics["metric"] == metric]
    last = rows[rows["x"] == rows.groupby("variant")["x"].transform("max")]
    where = last.groupby("variant")["x"].first()
    gap = paired_difference(last.assign(x=0.0), x="x", metric=metric, baseline=baseline, new_metric=new_metric)
    return gap.assign(x=gap["variant"].map(where))


def _model_comparisons(metrics: pd.DataFrame) -> list[pd.DataFrame]:
    """Every reward model minus the smallest (F1, final success), and every variant's final
    success minus the random policy's, all paired by seed."""
    parts = []
    sizes = metrics[metrics["metric"] == "reward_f1"].groupby("variant")["x"].max()
    if len(sizes) > 1:
        smallest = str(sizes.idxmin())
        parts.append(_final_against(metrics, "reward_f1", smallest, "reward_f1_minus_smallest"))
        parts.append(_final_against(metrics, "ground_truth_success", smallest, "success_minus_smallest"))
    floor = metrics[metrics["metric"] == "random_policy_success"].drop_duplicates("seed")
    if len(floor):
        random_rows = floor.assign(variant="random_policy", metric="ground_truth_success")
        success = pd.concat([metrics[metrics["metric"] == "ground_truth_success"], random_rows], ignore_index=True)
        parts.append(_final_against(success, "ground_truth_success", "random_policy", "success_minus_random_policy"))
    return parts


def next_state_of(rooms: list[Any]) -> np.ndarray:
    """Dynamics per task ``(tasks, states, actions)``: each room's, repeated for each of its goals."""
    return np.concatenate([np.repeat(room.next_state[None], len(room.goals), axis=0) for room in rooms])


@register
class VLMRewards(Study):
    name = "vlm_rewards"
    paper = "Baumli et al. 2023, 'Vision-language models as a source of rewards'"
    summary = "CLIP-style reward models of several sizes: reward precision/recall and agents' ground-truth success"
    figures = ("reward_quality_vs_size.png", "threshold_sweep.png", "agent_success.png", "final_success.png")
    claims = (
        Claim("larger_model_more_accurate_reward", "larger VLMs give more accurate rewards",
              "reward F1 on held-out rooms, largest − smallest model (paired by seed)", "greater",
              lambda table: table_estimate(table, "reward_f1_minus_smallest", variant=_largest_model(table)),
              (Precondition.by_ci("largest_model_learns", "the largest model's reward ROC-AUC is above chance (0.5)",
                                  lambda table: table_estimate(table, "reward_roc_auc", variant=_largest_model(table)),
                                  "greater", null=0.5),)),
        Claim("larger_model_more_capable_agent", "more accurate rewards from larger VLMs give more capable agents",
              "final ground-truth success, agent on the largest − the smallest model's reward (paired by seed)",
              "greater",
              lambda table: table_estimate(table, "success_minus_smallest", variant=_largest_model(table)),
              (Precondition.by_ci("oracle_agent_learns",
                                  "the agent on the ground-truth reward succeeds more often than the random policy",
                                  lambda table: table_estimate(table, "success_minus_random_policy", variant=ORACLE),
                                  "greater"),)),
    )

    def variants(self, study_config: dict[str, Any]) -> list[str]:
        return [*study_config["models"], *([ORACLE] if study_config.get("oracle", True) else [])]

    def job_seeds(self, study_config: dict[str, Any]) -> list[int]:
        return list(range(job_count(study_config)))

    def run_config(self, study_config: dict[str, Any], variant: str) -> dict[str, Any]:
        config = {k: v for k, v in study_config.items() if k not in ("enabled", "models", "oracle", "plot")}
        config["variant"] = variant
        if variant == ORACLE:  # no reward model: training and reward settings must not re-run it
            config = {k: config[k] for k in ("seeds", "seeds_per_job", "scene", "agent", "variant") if k in config}
        else:
            config["model"] = study_config["models"][variant]
        return config

    def check(self, study_config: dict[str, Any]) -> None:
        from plasticlab.rewards.render import sprites
        from plasticlab.rewards.scenes import KINDS
        from plasticlab.rewards.tokenizers import TOKENIZERS

        if ORACLE in study_config["models"]:
            raise ValueError(f"models: {ORACLE!r} is reserved for the ground-truth reward")
        scene = study_config["scene"]
        if scene["objects"] > len(KINDS) or scene["objects"] >= scene["grid"] ** 2:
            raise ValueError(f"scene: {scene['objects']} objects do not fit ({len(KINDS)} kinds, {scene['grid']}² cells)")
        sprites(int(scene["cell_px"]))
        for name, model in study_config["models"].items():
            if "checkpoint" in model:
                if model["tokenizer"]["name"] not in TOKENIZERS:
                    raise KeyError(f"models.{name}.tokenizer: unknown tokenizer {model['tokenizer']['name']!r}; "
                                   f"available: {', '.join(TOKENIZERS.available())}")
                continue
            heads = int(model.get("heads", 0)) or max(1, model["width"] // 64)
            if model["width"] % heads:
                raise ValueError(f"models.{name}: width {model['width']} is not divisible by {heads} heads")
        training = study_config.get("training", {})
        if training.get("checkpoint_every", 1) % training.get("log_every", 1):
            raise ValueError("training: checkpoint_every must be a multiple of log_every")

    def train(self, run: RunSpec, crash_after_checkpoints: int | None = None) -> pd.DataFrame:
        from plasticlab.rewards.qlearning import q_learning, random_policy_success
        from plasticlab.rewards.reward import binary_reward

        config = run.config
        scene, _, agent = _specs(config)
        frames = []
        for seed in batch_seeds(config, run.seed):
            rows: list[tuple[str, float, float]] = []
            rl_rooms = seed_rooms(seed, scene, int(config["agent"]["layouts"]), stream=1)
            truth = np.concatenate([room.success for room in rl_rooms])  # (tasks, states)
            next_state = next_state_of(rl_rooms)
            if run.variant == ORACLE:
                task_reward = truth.astype(float)
                floor = random_policy_success(next_state, truth, agent.horizon)
                rows.append(("random_policy_success", 0.0, float(floor.mean())))
            else:
                reward_model, parameters, training_rows = self._reward_model(run, seed, crash_after_checkpoints)
                rows += [(metric, float(step), value) for step, metric, value in training_rows]
                eval_rooms = seed_rooms(seed, scene, int(config["evaluation"]["layouts"]), stream=0)
                quality = reward_quality(room_probabilities(reward_model, eval_rooms, scene, config["reward"]),
                                         eval_rooms, config["reward"])
                rows += [(m, float(parameters) if np.isnan(x) else x, v) for m, x, v in quality]
                cache = room_probabilities(reward_model, rl_rooms, scene, config["reward"])
                task_reward = binary_reward(np.concatenate(cache), float(config["reward"]["threshold"]))
                log.info("%s seed %d: reward precision %.3f, recall %.3f, ROC-AUC %.3f", run.variant, seed,
                         *[v for m, _, v in quality if m in ("reward_precision", "reward_recall", "reward_roc_auc")])
            curve = q_learning(next_state, task_reward, truth, agent, np.random.default_rng([seed, 200]))
            for episodes, success, ended in curve:
                rows += [("ground_truth_success", float(episodes), float(success.mean())),
                         ("reward_model_success", float(episodes), float(ended.mean()))]
            log.info("%s seed %d: ground-truth success of the agent %.3f after %d episodes", run.variant, seed,
                     curve[-1][1].mean(), curve[-1][0])
            frames.append(pd.DataFrame(rows, columns=["metric", "x", "value"]).assign(seed=seed))
        return pd.concat(frames, ignore_index=True).assign(variant=run.variant)

    @staticmethod
    def _reward_model(run: RunSpec, seed: int, crash_after_checkpoints: int | None) -> tuple[Any, int, list]:
        """Train (or resume) this seed's model, save it in the open_clip format, load it back by the
        registry; or load the configured checkpoint."""
        from plasticlab.rewards.clip_io import save_clip_state_dict
        from plasticlab.rewards.clip_model import parameter_count
        from plasticlab.rewards.reward import build_reward_model
        from plasticlab.rewards.scenes import caption_vocabulary, captions
        from plasticlab.rewards.tokenizers import WordTokenizer
        from plasticlab.rewards.training import model_config, train_clip
        from plasticlab.runtime.checkpoint import run_fingerprint

        spec = run.config["model"]
        if "checkpoint" in spec:
            options = {k: v for k, v in spec.items() if k != "checkpoint"}
            model = build_reward_model({"name": "clip_checkpoint", "path": spec["checkpoint"], **options})
            return model, parameter_count(model.model), []
        scene, training, _ = _specs(run.config)
        tokenizer = WordTokenizer(caption_vocabulary())
        context = max(len(c.split()) for c in captions()) + 2
        config = model_config(spec, scene, tokenizer, context)
        model, rows = train_clip(config, tokenizer, scene, training, seed, run.checkpoint_dir / f"seed={seed}",
                                 f"{run_fingerprint(run)}-{seed}", desc=f"vlm_rewards/{run.variant}/seed={seed}",
                                 crash_after_checkpoints=crash_after_checkpoints, device=run.device)
        folder = run.out_dir / "models" / f"seed={seed}"
        save_clip_state_dict(model, folder / "clip.pt")
        tokenizer.save(folder / "vocab.json")
        loaded = build_reward_model({"name": "clip_checkpoint", "path": str(folder / "clip.pt"),
                                     "tokenizer": {"name": "word", "path": str(folder / "vocab.json")},
                                     "heads": config.heads(config.vision_width, config.vision_heads)})
        return loaded, parameter_count(loaded.model), rows

    def aggregate(self, metrics: pd.DataFrame, study_config: dict[str, Any]) -> pd.DataFrame:
        """Mean and 95% bootstrap CI over seeds per variant × metric × x; plus paired differences
        (same seeds, same rooms): ground-truth success minus the oracle's, every model minus the
        smallest (``reward_f1_minus_smallest``, ``success_minus_smallest``) and final success minus
        the random policy's (``success_minus_random_policy``)."""
        from plasticlab.analysis import paired_difference, summarise

        table = summarise(metrics, x="x", group=["variant", "metric"])
        if ORACLE in set(metrics["variant"]):
            gap = paired_difference(metrics, x="x", metric="ground_truth_success", baseline=ORACLE,
                                    new_metric="success_minus_oracle")
            table = pd.concat([table, gap], ignore_index=True)
        return pd.concat([table, *_model_comparisons(metrics)], ignore_index=True)

    def plot(self, table: pd.DataFrame, out_dir: Path, provenance: dict[str, Any]) -> list[Path]:
        from plasticlab.analysis import bars_at_x, line_panels, line_with_bands

        out_dir.mkdir(parents=True, exist_ok=True)
        sizes = table[table["metric"] == "reward_f1"].sort_values("x")
        order = [*sizes["variant"], *sorted(set(table["variant"]) - set(sizes["variant"]))]
        quality = table[table["metric"].isin([f"reward_{m}" for m in [*QUALITY, "roc_auc"]])]
        quality = quality.assign(panel="binary reward 1[p ≥ β] vs ground truth",
                                 series=quality["metric"].str.removeprefix("reward_"))
        written = [line_panels(quality, None, out_dir / "reward_quality_vs_size.png", panel="panel", series="series",
                               xlabel="reward model parameters", ylabel="score on held-out rooms", logx=True,
                               series_order=[*QUALITY, "roc_auc"],
                               title="Reward accuracy vs model size (mean, 95% CI over seeds)", provenance=provenance)]
        sweep = table[table["metric"].isin(["precision_at_threshold", "recall_at_threshold"])]
        sweep = sweep.assign(panel=sweep["metric"].str.removesuffix("_at_threshold"))
        written.append(line_panels(sweep, None, out_dir / "threshold_sweep.png", panel="panel", series="variant",
                                   xlabel="threshold β", ylabel="score on held-out rooms",
                                   series_order=sorted(set(table["variant"])),  # colours as in the other figures
                                   title="Reward precision and recall vs threshold", provenance=provenance))
        written.append(line_with_bands(table, "ground_truth_success", out_dir / "agent_success.png",
                                       xlabel="training episodes per goal", ylabel="ground-truth success rate",
                                       title="Agents trained on each reward, scored by the ground truth",
                                       variants=order, provenance=provenance))
        written.append(bars_at_x(table, "ground_truth_success", out_dir / "final_success.png",
                                 ylabel="ground-truth success rate", variants=order,
                                 title="Final ground-truth success (mean, 95% CI over seeds)", provenance=provenance))
        return written

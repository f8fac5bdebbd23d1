"""Rewards from vision-language models (Baumli et al. 2023): a rendered room with language goals,
CLIP-style dual encoders (trained here, or loaded from an open_clip/OpenAI ViT state dict), the
thresholded goal probability as reward, and a tabular agent trained on it."""

from plasticlab.rewards.clip_io import ClipCheckpointError, infer_config, load_clip, save_clip_state_dict
from plasticlab.rewards.clip_model import CLIP, ClipConfig, parameter_count, preprocess
from plasticlab.rewards.contrastive import caption_accuracy, info_nce
from plasticlab.rewards.env import ShapesRoomEnv, TabularRoom
from plasticlab.rewards.reward import (REWARD_MODELS, RewardModel, binary_reward, build_reward_model,
                                       classification_scores, goal_probabilities, roc_auc)
from plasticlab.rewards.tokenizers import TOKENIZERS, ClipBpeTokenizer, WordTokenizer, build_tokenizer, tokenize

__all__ = ["CLIP", "ClipBpeTokenizer", "ClipCheckpointError", "ClipConfig", "REWARD_MODELS", "RewardModel", "ShapesRoomEnv",
           "TOKENIZERS", "TabularRoom", "WordTokenizer", "binary_reward", "build_reward_model", "build_tokenizer",
           "caption_accuracy", "classification_scores", "goal_probabilities", "info_nce", "infer_config", "load_clip",
           "parameter_count", "preprocess", "roc_auc", "save_clip_state_dict", "tokenize"]

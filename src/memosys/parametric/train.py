"""Train a LoRA adapter on training examples (peft), on the model's own device.

The loss is cross-entropy on each example's completion (the logits are
computed only where there is a label, which saves most of the output layer
on short examples). To keep the adapted model close to the base model on
everything else, each step also adds a KL term between the base model's and
the adapted model's next-token distributions on general *replay* text
(:mod:`memosys.parametric.corpus`). Training runs under the model's lock and
leaves the base model as it found it: the adapter weights are returned, and
the LoRA layers are removed again.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from memosys.core.checks import is_whole
from memosys.core.errors import InvalidInputError, missing_dependency
from memosys.parametric.corpus import general_paragraphs
from memosys.parametric.dataset import Example
from memosys.parametric.lm import LanguageModel
from memosys.parametric.serving import model_lock, peft_attached

StepProgress = Callable[[int, int, float], None]
"""Called after each step with (step, total steps, loss)."""

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one adapter; all of them are recorded in its provenance."""

    rank: int = 16
    alpha: float = 32.0
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    steps: int = 80
    learning_rate: float = 3e-3
    batch_size: int = 16
    replay_weight: float = 1.0
    replay_batch: int = 2
    replay_tokens: int = 64
    max_example_tokens: int = 96
    bf16: bool = True  # bfloat16 autocast where the device runs it natively
    seed: int = 0

    def __post_init__(self) -> None:
        positive = (
            "rank",
            "steps",
            "batch_size",
            "replay_batch",
            "replay_tokens",
            "max_example_tokens",
        )
        for name in positive:
            value = getattr(self, name)
            if not is_whole(value) or value < 1:
                raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0 or not self.alpha > 0 or self.replay_weight < 0:
            raise InvalidInputError("learning_rate and alpha must be > 0, replay_weight >= 0")
        if not self.target_modules:
            raise InvalidInputError("target_modules must name at least one module")

    def to_dict(self) -> dict[str, Any]:
        """The hyper-parameters as a JSON-ready dict."""
        values = asdict(self)
        values["target_modules"] = list(self.target_modules)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "target_modules" in known:
            known["target_modules"] = tuple(known["target_modules"])
        return cls(**known)


@dataclass
class TrainedAdapter:
    """The result of training: LoRA weights (on the CPU), peft config, loss curve, timing."""

    weights: dict[str, Any]
    lora_config: dict[str, Any]
    loss_curve: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    bf16: bool = False  # whether the steps ran under bfloat16 autocast


def bf16_is_native(device: Any) -> bool:
    """Whether bfloat16 autocast is worth it on ``device``: everywhere but a CPU without
    bfloat16 instructions (AVX512-BF16, AMX), where it is emulated: a training matmul took
    40 times as long as in float32 on a 2-core AVX2 EPYC."""
    import torch

    if torch.device(device).type != "cpu":
        return True
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(supported()) if supported is not None else False
    except RuntimeError:
        return False


def lora_config_dict(config: TrainConfig) -> dict[str, Any]:
    """The peft ``LoraConfig`` fields for these hyper-parameters."""
    return {
        "r": config.rank,
        "lora_alpha": config.alpha,
        "lora_dropout": 0.0,
        "target_modules": sorted(config.target_modules),
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


def _tokenize(tokenizer: Any, text: str) -> list[int]:
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
    return ids


def encode_examples(
    tokenizer: Any, examples: Sequence[Example], max_tokens: int
) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per example; labels are IGNORE on the prompt."""
    encoded = []
    for example in examples:
        prompt = _tokenize(tokenizer, example.prompt)
        completion = _tokenize(tokenizer, example.completion)
        ids = (prompt + completion)[:max_tokens]
        labels = ([IGNORE] * len(prompt) + completion)[:max_tokens]
        if any(label != IGNORE for label in labels[1:]):
            encoded.append((ids, labels))
    if not encoded:
        raise InvalidInputError("the training examples are empty after tokenisation")
    return encoded


def _batches(count: int, batch_size: int, rng: random.Random) -> Iterator[list[int]]:
    """Example indices, shuffled anew each epoch, forever."""
    while True:
        order = list(range(count))
        rng.shuffle(order)
        for start in range(0, count, batch_size):
            yield order[start : start + batch_size]


def _padded(rows: Sequence[list[int]], pad: int, device: Any) -> tuple[Any, Any]:
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
        mask[index, : len(row)] = 1
    return ids.to(device), mask.to(device)


def completion_loss(causal_lm: Any, batch: Sequence[tuple[list[int], list[int]]], pad: int) -> Any:
    """Mean cross-entropy of the labelled tokens, with the output layer run only there."""
    import torch
    import torch.nn.functional as F

    device = causal_lm.device
    ids, mask = _padded([row[0] for row in batch], pad, device)
    labels, _ = _padded([row[1] for row in batch], IGNORE, device)
    hidden = causal_lm.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    where = targets != IGNORE
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][where])
    loss: torch.Tensor = F.cross_entropy(logits.float(), targets[where])
    return loss


def replay_chunks(tokenizer: Any, tokens: int) -> list[list[int]]:
    """The replay paragraphs cut into windows of ``tokens`` tokens."""
    chunks: list[list[int]] = []
    for paragraph in general_paragraphs("replay"):
        ids = _tokenize(tokenizer, paragraph)
        chunks.extend(ids[i : i + tokens] for i in range(0, len(ids), tokens))
    return [chunk for chunk in chunks if len(chunk) > 8]


def replay_kl(peft_model: Any, rows: Sequence[list[int]], pad: int) -> Any:
    """KL(base || adapted) per token on replay text."""
    import torch
    import torch.nn.functional as F

    ids, mask = _padded(rows, pad, peft_model.device)
    with torch.no_grad(), peft_model.disable_adapter():
        base = F.log_softmax(peft_model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    adapted = F.log_softmax(peft_model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    where = mask.bool()
    kl: torch.Tensor = F.kl_div(adapted[where], base[where], log_target=True, reduction="batchmean")
    return kl


def train_adapter(
    lm: LanguageModel,
    examples: Sequence[Example],
    config: TrainConfig,
    *,
    progress: StepProgress | None = None,
) -> TrainedAdapter:
    """Train a LoRA adapter on ``examples``; the base model is unchanged afterwards."""
    try:
        import torch
        from peft import get_peft_model_state_dict
    except ImportError as exc:
        raise missing_dependency(exc.name or "peft", "lora") from exc

    tokenizer = lm.tokenizer
    pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    data = encode_examples(tokenizer, examples, config.max_example_tokens)
    replay = replay_chunks(tokenizer, config.replay_tokens) if config.replay_weight > 0 else []
    rng = random.Random(config.seed)
    device = lm.device
    bf16 = config.bf16 and bf16_is_native(device)
    autocast = torch.autocast(
        device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16
    )
    curve: list[float] = []
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    with (
        model_lock(lm.model),
        peft_attached(lm.model, lora_config_dict(config), "distilled") as peft_model,
    ):
        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / 10) * (1 - step / config.steps) + 0.05
        )
        batches = _batches(len(data), config.batch_size, rng)
        for step in range(config.steps):
            with autocast:
                loss = completion_loss(lm.model, [data[i] for i in next(batches)], pad)
                if replay:
                    rows = rng.sample(replay, min(config.replay_batch, len(replay)))
                    loss = loss + config.replay_weight * replay_kl(peft_model, rows, pad)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            curve.append(round(float(loss.detach()), 5))
            if progress is not None:
                progress(step + 1, config.steps, curve[-1])
        with warnings.catch_warnings():
            # peft looks for a config.json beside a GGUF model to check the vocabulary
            warnings.filterwarnings("ignore", message="Could not find a config file")
            state = get_peft_model_state_dict(peft_model, adapter_name="distilled")
        weights = {
            name: tensor.detach().to("cpu", torch.float32).contiguous()
            for name, tensor in state.items()
        }
    return TrainedAdapter(
        weights=weights,
        lora_config=lora_config_dict(config),
        loss_curve=curve,
        seconds=time.perf_counter() - started,
        device=str(device),
        bf16=bf16,
    )

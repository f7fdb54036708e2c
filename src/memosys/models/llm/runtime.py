"""A local causal language model: chat rendering and greedy generation with a KV prefix.

:class:`LocalLM` wraps a transformers model and its tokenizer. Generation is
greedy and written out token by token, so that time to first token is measured
exactly and a precomputed key/value prefix (activation memory) can be passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

from memosys.core.errors import InvalidInputError
from memosys.models.llm.fingerprint import ModelFingerprint

if TYPE_CHECKING:
    import torch

# one (keys, values) pair per layer, each [batch=1, kv_heads, tokens, head_dim]
LayerKV: TypeAlias = "tuple[torch.Tensor, torch.Tensor]"
PastKV: TypeAlias = "Sequence[LayerKV] | Any"


@dataclass(frozen=True)
class Generation:
    """A finished generation: text, new token ids, prompt size and timing.

    ``ttft_s`` runs from the call to the first new token (prefix setup included);
    ``tokens_per_s`` is the decoding rate after the first token.
    """

    text: str
    token_ids: list[int]
    prompt_tokens: int
    ttft_s: float
    tokens_per_s: float
    prefix_tokens: int = 0


@dataclass
class TokenStream:
    """Text pieces as they are generated; :attr:`result` once exhausted."""

    pieces: Iterator[str]
    result: Generation | None = field(default=None)

    def __iter__(self) -> Iterator[str]:
        return self.pieces


class LocalLM:
    """A loaded causal LM (eval mode) with its tokenizer, device and fingerprint."""

    def __init__(self, model: Any, tokenizer: Any, fingerprint: ModelFingerprint) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.fingerprint = fingerprint
        self.model.eval()

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        device: torch.device = self.model.device
        return device

    @property
    def num_layers(self) -> int:
        """Decoder layers (one KV pair each)."""
        return int(self.model.config.num_hidden_layers)

    def render_chat(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        """The model's chat template applied to ``messages``, as text."""
        for message in messages:
            if not isinstance(message, dict) or not {"role", "content"} <= message.keys():
                raise InvalidInputError("each chat message needs a 'role' and a 'content'")
        text: str = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )
        return text

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` exactly as written (the template already holds specials)."""
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text of generated ids, special tokens left out."""
        text: str = self.tokenizer.decode(list(token_ids), skip_special_tokens=True)
        return text

    def prefill(self, token_ids: Sequence[int], past_key_values: PastKV | None = None) -> Any:
        """Run ``token_ids`` after an optional prefix; returns the grown transformers cache."""
        import torch

        cache = self.make_cache(past_key_values)
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([list(token_ids)], device=self.device),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
        return out.cache

    def next_token_logits(
        self, prompt: str | Sequence[int], *, past_key_values: PastKV | None = None
    ) -> torch.Tensor:
        """Float32 logits of the token after ``prompt`` (after an optional prefix)."""
        import torch

        ids = self._prompt_ids(prompt)
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([ids], device=self.device),
                cache=self.make_cache(past_key_values),
                use_cache=True,
                logits_to_keep=1,
            )
        logits: torch.Tensor = out.logits[0, -1].float()
        return logits

    @overload
    def generate(
        self,
        prompt: str | Sequence[int],
        *,
        max_new_tokens: int = ...,
        past_key_values: PastKV | Callable[[], PastKV] | None = ...,
        stream: Literal[False] = ...,
    ) -> Generation: ...

    @overload
    def generate(
        self,
        prompt: str | Sequence[int],
        *,
        max_new_tokens: int = ...,
        past_key_values: PastKV | Callable[[], PastKV] | None = ...,
        stream: Literal[True],
    ) -> TokenStream: ...

    def generate(
        self,
        prompt: str | Sequence[int],
        *,
        max_new_tokens: int = 64,
        past_key_values: PastKV | Callable[[], PastKV] | None = None,
        stream: bool = False,
    ) -> Generation | TokenStream:
        """Greedy generation after ``prompt`` (text or token ids).

        ``past_key_values`` is a prefix the prompt continues: a transformers
        cache or one (keys, values) pair per layer, never modified here. It may
        also be a zero-argument callable returning one (for example a cache
        loader), so its loading time counts in the time to first token.
        With ``stream=True`` a :class:`TokenStream` yields text pieces.
        """
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise InvalidInputError("max_new_tokens must be a positive integer")
        started = time.perf_counter()
        ids = self._prompt_ids(prompt)
        pieces_stream = TokenStream(iter(()))
        steps = self._greedy(ids, past_key_values, max_new_tokens, started, pieces_stream)
        if stream:
            pieces_stream.pieces = steps
            return pieces_stream
        for _ in steps:
            pass
        assert pieces_stream.result is not None
        return pieces_stream.result

    def make_cache(self, past_key_values: PastKV | None) -> Any:
        """A fresh transformers cache holding ``past_key_values`` without copying tensors."""
        from transformers import Cache, DynamicCache
        from transformers.cache_utils import DynamicLayer

        if past_key_values is None:
            return DynamicCache()
        if isinstance(past_key_values, Cache):
            layers: list[Any] = list(past_key_values.layers)
            past_key_values = [(layer.keys, layer.values) for layer in layers]
        if len(past_key_values) != self.num_layers:
            raise InvalidInputError(
                f"the KV prefix has {len(past_key_values)} layers but the model has "
                f"{self.num_layers}; build the cache with this model"
            )
        cache = DynamicCache()
        cache.layers = []
        for keys, values in past_key_values:
            layer = DynamicLayer()  # type: ignore[no-untyped-call]
            layer.lazy_initialization(keys, values)
            layer.keys, layer.values = keys.to(self.device), values.to(self.device)
            cache.layers.append(layer)
        return cache

    def _prompt_ids(self, prompt: str | Sequence[int]) -> list[int]:
        if isinstance(prompt, str):
            ids = self.encode(prompt)
        elif isinstance(prompt, Sequence) and all(isinstance(t, int) for t in prompt):
            ids = [int(t) for t in prompt]
        else:
            raise InvalidInputError("prompt must be text or a list of token ids")
        if not ids:
            raise InvalidInputError("the prompt is empty; give at least one token")
        return ids

    def _greedy(
        self,
        ids: list[int],
        past: PastKV | Callable[[], PastKV] | None,
        max_new_tokens: int,
        started: float,
        sink: TokenStream,
    ) -> Iterator[str]:
        import torch

        stop = self._stop_ids()
        prefix = past() if callable(past) else past
        cache = self.make_cache(prefix)
        prefix_tokens = cache.get_seq_length()
        generated: list[int] = []
        text = ""
        first_at = started
        with torch.inference_mode():
            step_input = torch.tensor([ids], device=self.device)
            for _ in range(max_new_tokens):
                out = self.model(
                    input_ids=step_input, cache=cache, use_cache=True, logits_to_keep=1
                )
                cache = out.cache
                token = int(out.logits[0, -1].argmax())
                if not generated:
                    first_at = time.perf_counter()
                if token in stop:
                    break
                generated.append(token)
                fresh = self.decode(generated)
                if fresh.startswith(text) and len(fresh) > len(text):
                    yield fresh[len(text) :]
                text = fresh
                step_input = torch.tensor([[token]], device=self.device)
        finished = time.perf_counter()
        after_first = len(generated) - 1
        sink.result = Generation(
            text=self.decode(generated),
            token_ids=generated,
            prompt_tokens=len(ids),
            ttft_s=first_at - started,
            tokens_per_s=after_first / (finished - first_at) if after_first > 0 else 0.0,
            prefix_tokens=prefix_tokens,
        )

    def _stop_ids(self) -> set[int]:
        stop = {self.tokenizer.eos_token_id}
        eos = self.model.generation_config.eos_token_id if self.model.generation_config else None
        stop.update(eos if isinstance(eos, list) else [eos])
        return {int(t) for t in stop if t is not None}

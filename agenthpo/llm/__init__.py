"""The LLM layer: one small protocol and its providers.

Example:
    >>> from agenthpo.llm import parse_llm_spec
    >>> parse_llm_spec("openai-compatible:http://127.0.0.1:8000/v1#m").name
    'openai-compatible:m'
    >>> parse_llm_spec("anthropic:claude-haiku-4-5", environ={"ANTHROPIC_API_KEY": "k"}).name
    'anthropic:claude-haiku-4-5'
"""

from __future__ import annotations

from agenthpo.llm._anthropic import AnthropicClient
from agenthpo.llm._base import LLMClient, LLMResponse, Message, Usage, is_embedded
from agenthpo.llm._json import extract_json
from agenthpo.llm._llamacpp import LocalLlamaClient
from agenthpo.llm._local import LocalClient, find_embedded_model
from agenthpo.llm._openai import OpenAICompatibleClient, StructuredMode
from agenthpo.llm._replay import ReplayLLM
from agenthpo.llm._scripted import RandomLLM, ScriptedLLM
from agenthpo.llm._spec import LLMSettings, parse_llm_spec, resolve_llm

__all__ = [
    "AnthropicClient",
    "LLMClient",
    "LLMResponse",
    "LLMSettings",
    "LocalClient",
    "LocalLlamaClient",
    "Message",
    "OpenAICompatibleClient",
    "RandomLLM",
    "ReplayLLM",
    "ScriptedLLM",
    "StructuredMode",
    "Usage",
    "extract_json",
    "find_embedded_model",
    "is_embedded",
    "parse_llm_spec",
    "resolve_llm",
]

"""Model and provider names: canonical provider names, prefixes, and the spellings a model id is tried under.

``resolve`` tries, in order: the exact id, then the id without a Vertex ``@version``, a Bedrock ``-v1:0`` suffix,
a date or ``-latest`` suffix, a Bedrock cross-region prefix (``us.``, ``eu.``, ``global.``, ...), the Bedrock vendor
prefix (``anthropic.``), and for fine-tunes (``ft:base:org:suffix:id``) ever shorter ``ft:`` prefixes. The first
spelling that names a catalog entry wins, so a dated snapshot with its own price (``gpt-4o-2024-05-13``) is never
mistaken for the alias.
"""

from __future__ import annotations

import re

__all__ = [
    "canonical_provider",
    "canonical_cloud",
    "split_model",
    "candidates",
    "strip_version",
    "PROVIDER_PRIORITY",
    "PROVIDER_FALLBACK",
]

_PROVIDER_ALIASES = {
    "openai": ("openai", "openai_api", "openai-api", "chatgpt"),
    "anthropic": ("anthropic", "claude", "anthropic_api"),
    "google": (
        "google",
        "gemini",
        "google_ai_studio",
        "googleai",
        "google-ai",
        "gcp.gemini",
        "gcp.gen_ai",
        "vertex_ai",
        "vertex",
        "vertexai",
        "vertex-ai",
        "gcp.vertex_ai",
        "google_vertex",
        "vertex_ai_beta",
    ),
    "mistral": ("mistral", "mistralai", "mistral_ai", "mistral-ai"),
    "deepseek": ("deepseek", "deepseek_ai"),
    "azure": (
        "azure",
        "azure_openai",
        "azure-openai",
        "azureopenai",
        "az.ai.openai",
        "azure.ai.openai",
        "azure_ai",
        "azure.ai.inference",
        "microsoft",
    ),
    "bedrock": (
        "bedrock",
        "aws",
        "aws.bedrock",
        "amazon",
        "amazon_bedrock",
        "aws_bedrock",
        "bedrock_converse",
    ),
}
_PROVIDERS = {alias: name for name, aliases in _PROVIDER_ALIASES.items() for alias in aliases}

_CLOUD_ALIASES = {
    "aws": ("aws", "amazon", "ec2", "amazon_web_services", "sagemaker"),
    "gcp": ("gcp", "google", "google_cloud", "gce", "google_cloud_platform"),
    "azure": ("azure", "microsoft", "microsoft_azure"),
}
_CLOUDS = {alias: name for name, aliases in _CLOUD_ALIASES.items() for alias in aliases}

#: Which provider owns a bare model id that several providers sell (``gpt-4o``: OpenAI, not Azure).
PROVIDER_PRIORITY = ("openai", "anthropic", "google", "mistral", "deepseek", "bedrock")
#: Where a provider's unknown model is looked up next (Azure bills OpenAI's rates; Vertex and Bedrock resell Claude).
PROVIDER_FALLBACK: dict[str, tuple[str, ...]] = {
    "azure": ("openai",),
    "google": ("anthropic", "mistral"),
    "bedrock": ("anthropic",),
}

_STRIP_HEADS = frozenset({"models", "converse", "invoke"})
_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[^/]*/")
_VERTEX_VERSION = re.compile(r"@[\w.\-]+$")
_BEDROCK_VERSION = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
_DATE = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{4}|-\d{4}|-\d{3}|-latest)$")
_GEO = re.compile(r"^(?:us|eu|apac|jp|au|ca|us-gov|global)\.")
_VENDOR = re.compile(r"^(?:anthropic|amazon|meta|mistral|cohere|deepseek|openai|ai21|writer|qwen)\.")


def canonical_provider(name: str | None) -> str | None:
    """The catalog's name for an LLM provider spelling (``gcp.vertex_ai`` -> ``google``), or the name lowercased."""
    if not name:
        return None
    key = name.strip().lower()
    return _PROVIDERS.get(key, key)


def known_provider(name: str) -> bool:
    """Whether ``name`` is a spelling of one of the shipped LLM providers."""
    return name.strip().lower() in _PROVIDERS


def canonical_cloud(name: str | None) -> str | None:
    """The catalog's name for a GPU cloud spelling (``amazon`` -> ``aws``), or the name lowercased."""
    if not name:
        return None
    key = name.strip().lower()
    return _CLOUDS.get(key, key)


def split_model(model: str) -> tuple[str | None, str]:
    """Split provider prefixes off a model id: ``azure/gpt-4o`` -> (``azure``, ``gpt-4o``).

    Also strips ``models/`` (Gemini), Bedrock ARNs and regions, and an unknown gateway head that is followed by a
    known provider (``openrouter/openai/gpt-4o``). The id is lowercased.
    """
    name = model.strip().lower()
    provider: str | None = None
    arn = _ARN.match(name)
    if arn:
        provider, name = "bedrock", name[arn.end() :]
    while "/" in name:
        head, rest = name.split("/", 1)
        if head in _PROVIDERS:
            provider = provider or _PROVIDERS[head]
        elif (
            head in _STRIP_HEADS or _REGION.match(head) or "/" in rest and rest.split("/", 1)[0] in _PROVIDERS
        ):
            pass
        else:
            break
        name = rest
    return provider, name


def strip_version(name: str) -> str:
    """A Bedrock id without its version suffix: ``anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``...-20250929``."""
    return _BEDROCK_VERSION.sub("", name)


def candidates(name: str) -> list[str]:
    """The spellings ``name`` (lowercase, prefixes split off) is tried under, most specific first."""
    out = [name]

    def add(value: str) -> None:
        if value and value not in out:
            out.append(value)

    for rx in (_VERTEX_VERSION, _BEDROCK_VERSION, _DATE):
        for base in list(out):
            add(rx.sub("", base))
    for base in list(out):
        if _GEO.match(base):
            add(_GEO.sub("", base, count=1))
    for base in list(out):
        if _VENDOR.match(base):
            stripped = _VENDOR.sub("", base, count=1)
            add(stripped)
            add(_DATE.sub("", stripped))
    if name.startswith("ft:"):
        parts = name.split(":")
        for k in range(len(parts) - 1, 1, -1):
            add(":".join(parts[:k]).rstrip(":"))
    return out

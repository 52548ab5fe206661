"""The demo company: Acme Corp, a 600-person B2B software company that uses AI everywhere.

Everything ``aifinops demo`` generates comes from the tables below, so the demo tells one coherent story:

- **Seven teams** (search, support, sales, data-science, platform, marketing, legal), each in its own time
  zone, each with projects and features. Traffic peaks in each team's business hours and drops at weekends;
  customer-facing features (search, support) stay busier at night and on weekends than internal ones.
- **Hosted LLMs through the gateway** (openai, anthropic, google, mistral, deepseek): chat, responses and
  embeddings; prompt caching (Anthropic explicit writes and reads, OpenAI/Google/DeepSeek automatic
  prefix caching); reasoning models (the gpt-5 family, o4-mini); errors and client retries. The heavy
  features (RAG answers, agents, legal) send long contexts to current models (gpt-5.4, Claude Sonnet and
  Opus 4.6), so hosted LLM spend is some $10k-$15k a month, next to about $30k of GPUs.
- **Model migrations** (:class:`Migration`): several features moved to newer models during the window
  (gpt-4o to gpt-5.4, gpt-5 to gpt-5.4, Sonnet 4.5 to Sonnet 4.6 and Opus 4.6, Gemini 2.5 to 3); others
  still run older models, and the zombie pilot still runs on the expensive claude-opus-4-1.
- **Agents**: a support agent (Claude, with prompt caching) and a research agent (gpt-5.4 planner,
  sub-agents and tool calls) whose calls form trace trees; tool results grow the context of later calls.
- **Nightly work**: a catalog-enrichment batch job (batch pricing), the search index's document
  embeddings, and an evaluation harness in staging.
- **Self-hosted inference**: two vLLM endpoints on the company's own GPUs (a reserved 8x H100 node for
  llama-3.1-70b, two on-demand L4 instances for llama-3.1-8b). Their requests are metered at the gateway
  with a reported cost of 0 and the tag ``cost_in: gpu``; the money is in the hourly GPU records.
- **Training and fine-tuning** jobs on H100 and A100 nodes, some on spot capacity.
- **Business outcomes** per feature (tickets resolved, leads qualified, documents summarized...), grouped
  into initiatives; one initiative, ``clause-library-pilot``, spends money and produces nothing (a zombie).
- **Incidents** (:data:`INCIDENTS`) that the detectors and reports should find.

Times in this module are counted back from the UTC midnight that starts the demo's last day
(``days_before_end``, see :func:`anchor_of`), so every incident falls in the last two weeks of data whatever
day the demo is generated on, and at the same time of day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "Team",
    "Model",
    "OutcomeSpec",
    "Migration",
    "Feature",
    "Endpoint",
    "TrainingJob",
    "Incident",
    "TEAMS",
    "MODELS",
    "TENANTS",
    "FEATURES",
    "ENDPOINTS",
    "TRAINING_JOBS",
    "INCIDENTS",
    "ZOMBIE_INITIATIVE",
    "RUNAWAY_AGENT_CALLS",
    "RUNAWAY_TRAINING_HOURS",
    "anchor_of",
]


@dataclass(frozen=True)
class Team:
    """A team and the UTC offset (hours) of where most of it works."""

    name: str
    utc_offset: int
    description: str


@dataclass(frozen=True)
class Model:
    """A model as the demo uses it: who serves it, how it caches, how fast it is."""

    id: str
    provider: str
    caching: str  # "explicit" (Anthropic cache_control), "auto" (prefix caching), "none"
    reasoning: bool = False
    ttft_ms: float = 400.0
    tokens_per_s: float = 80.0


@dataclass(frozen=True)
class OutcomeSpec:
    """The business outcome a feature produces: ``rate`` outcomes per prod request (or workflow)."""

    outcome_type: str
    rate: float
    value: str | None  # USD per outcome, as a decimal string; None = counted, not valued
    source: str


@dataclass(frozen=True)
class Migration:
    """A planned model change: before ``days_before_end`` the feature used the ``previous`` mix."""

    days_before_end: float
    previous: tuple[tuple[str, float], ...]
    description: str

    def at(self, end: datetime) -> datetime:
        """When the switch happened, for a demo ending at ``end``."""
        return anchor_of(end) - timedelta(days=self.days_before_end)


@dataclass(frozen=True)
class Feature:
    """One feature's traffic. ``daily`` is weekday volume (requests, or workflows for agents) at the end."""

    name: str
    team: str
    project: str
    product: str
    use_case: str
    initiative: str | None
    kind: str  # "chat", "embeddings", "batch", "eval", "agent"
    models: tuple[tuple[str, float], ...]
    daily: float
    profile: str = "business"  # "business", "global", "nightly"
    growth: float = 0.003  # daily growth of volume
    trace: str = "conv"  # which Azure trace the token sizes come from
    context_scale: float = 1.0
    output_scale: float = 1.0
    prefix_tokens: int = 0  # shared system prompt, cacheable
    max_output: int = 4096
    max_context: int | None = None  # prompts are cut to this (the model's context window)
    cache_1h_share: float = 0.0  # share of Anthropic cache writes with a 1h TTL
    customers: bool = False
    users: int = 0
    environments: tuple[tuple[str, float], ...] = (("prod", 0.86), ("staging", 0.07), ("dev", 0.07))
    error_rate: float = 0.01
    operation: str = "chat"
    category: str = "hosted_inference"
    endpoint: str | None = None  # self-hosted endpoint serving it
    duplicate_share: float = 0.0  # share of requests repeating a popular one verbatim (exact cache)
    outcome: OutcomeSpec | None = None
    migration: Migration | None = None  # models before ``models`` (the mix since the migration)


@dataclass(frozen=True)
class Endpoint:
    """A self-hosted vLLM endpoint: instances billed hourly whether busy or idle."""

    name: str
    model: str
    provider: str
    region: str
    instance_type: str
    gpu_type: str
    gpus_per_instance: int
    instances: int
    pricing_mode: str
    team: str
    project: str
    feature: str
    initiative: str | None


@dataclass(frozen=True)
class TrainingJob:
    """A recurring training or fine-tuning job; runs start ``first_days_before_end`` and every ``every_days``."""

    name: str
    team: str
    project: str
    initiative: str | None
    provider: str
    region: str
    instance_type: str
    gpu_type: str
    gpus_per_node: int
    nodes: int
    pricing_mode: str
    hours: int
    every_days: int
    first_days_before_end: float
    overrides: dict[int, int] = field(default_factory=dict)  # run number (0 = latest) -> hours


@dataclass(frozen=True)
class Incident:
    """Something that went wrong, injected into the data so that detectors have something to find."""

    name: str
    kind: str
    team: str
    feature: str
    days_before_end: float
    duration_hours: float
    description: str

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        """The incident's ``[start, end)`` for a demo ending at ``end`` (counted from end's UTC midnight)."""
        start = anchor_of(end) - timedelta(days=self.days_before_end)
        return start, start + timedelta(hours=self.duration_hours)


def anchor_of(end: datetime) -> datetime:
    """The UTC midnight that starts the demo's last day: the origin of every ``days_before_end``."""
    return end.replace(hour=0, minute=0, second=0, microsecond=0)


TEAMS: tuple[Team, ...] = (
    Team("search", -5, "Customer-facing AI search and answers (New York)."),
    Team("support", 0, "Helpdesk automation and the support agent (Dublin)."),
    Team("sales", -8, "Lead scoring and sales emails (San Francisco)."),
    Team("data-science", 1, "Research agent, catalog enrichment, model training (Berlin)."),
    Team("platform", 0, "ML platform: gateway, self-hosted models, evals (distributed)."),
    Team("marketing", -5, "Campaign copy and SEO content (New York)."),
    Team("legal", 0, "Contract review and a clause-library pilot (London)."),
)

_M = Model
MODELS: dict[str, Model] = {
    m.id: m
    for m in (
        _M("gpt-4o", "openai", "auto", ttft_ms=450, tokens_per_s=90),
        _M("gpt-4o-mini", "openai", "auto", ttft_ms=300, tokens_per_s=120),
        _M("gpt-4.1", "openai", "auto", ttft_ms=500, tokens_per_s=85),
        _M("gpt-4.1-mini", "openai", "auto", ttft_ms=320, tokens_per_s=110),
        _M("gpt-5", "openai", "auto", reasoning=True, ttft_ms=2500, tokens_per_s=60),
        _M("gpt-5-mini", "openai", "auto", reasoning=True, ttft_ms=1200, tokens_per_s=90),
        _M("gpt-5.4", "openai", "auto", reasoning=True, ttft_ms=1800, tokens_per_s=75),
        _M("gpt-5.4-mini", "openai", "auto", reasoning=True, ttft_ms=900, tokens_per_s=120),
        _M("o4-mini", "openai", "auto", reasoning=True, ttft_ms=1500, tokens_per_s=100),
        _M("text-embedding-3-large", "openai", "none", ttft_ms=90, tokens_per_s=1e9),
        _M("claude-sonnet-4-5", "anthropic", "explicit", ttft_ms=700, tokens_per_s=70),
        _M("claude-sonnet-4-6", "anthropic", "explicit", ttft_ms=650, tokens_per_s=75),
        _M("claude-haiku-4-5", "anthropic", "explicit", ttft_ms=350, tokens_per_s=130),
        _M("claude-opus-4-1", "anthropic", "explicit", ttft_ms=1100, tokens_per_s=40),
        _M("claude-opus-4-6", "anthropic", "explicit", ttft_ms=950, tokens_per_s=55),
        _M("gemini-2.5-flash", "google", "auto", ttft_ms=350, tokens_per_s=150),
        _M("gemini-2.5-pro", "google", "auto", ttft_ms=1400, tokens_per_s=80),
        _M("gemini-3-flash-preview", "google", "auto", ttft_ms=400, tokens_per_s=160),
        _M("gemini-3-pro-preview", "google", "auto", ttft_ms=1600, tokens_per_s=85),
        _M("mistral-large-latest", "mistral", "none", ttft_ms=500, tokens_per_s=60),
        _M("deepseek-chat", "deepseek", "auto", ttft_ms=900, tokens_per_s=45),
        _M("llama-3.1-70b-instruct", "self-hosted", "none", ttft_ms=350, tokens_per_s=45),
        _M("llama-3.1-8b-instruct", "self-hosted", "none", ttft_ms=80, tokens_per_s=160),
    )
}

#: B2B tenants of the customer-facing features, with their share of traffic (heavy-tailed, as in life).
TENANTS: tuple[tuple[str, float], ...] = (
    ("globex", 0.30),
    ("initech", 0.18),
    ("umbrella", 0.13),
    ("hooli", 0.10),
    ("soylent", 0.08),
    ("tyrell", 0.07),
    ("cyberdyne", 0.06),
    ("vandelay", 0.04),
    ("wonka", 0.03),
    ("massive-dynamic", 0.01),
)

ZOMBIE_INITIATIVE = "clause-library-pilot"

#: Calls made by the runaway research-agent workflow, and hours of the runaway training run.
RUNAWAY_AGENT_CALLS = 420
RUNAWAY_TRAINING_HOURS = 66

# The tables below are data: one entry per line group, aligned by hand.
# fmt: off
_F = Feature
_O = OutcomeSpec
_G = Migration
FEATURES: tuple[Feature, ...] = (
    # search: customer-facing RAG answers over each tenant's documents, and the embeddings behind them
    _F("search-answers", "search", "assistant", "acme-search", "rag-answer", "ai-search", "chat",
       (("gpt-5.4", 0.55), ("claude-sonnet-4-6", 0.15), ("gemini-3-flash-preview", 0.2),
        ("gpt-4.1-mini", 0.1)), 1100, profile="global", context_scale=55.0, output_scale=1.2, prefix_tokens=2500, max_output=1500, max_context=400_000,
       customers=True, duplicate_share=0.1, outcome=_O("answer_accepted", 0.35, None, "app-events"),
       migration=_G(48, (("gpt-4.1-mini", 0.55), ("gpt-4o", 0.3), ("gemini-2.5-flash", 0.15)),
                    "Answers moved from gpt-4o to gpt-5.4 (and Gemini 2.5 Flash to 3 Flash) after an eval "
                    "round: better grounded answers for about the same price per token.")),
    _F("query-embeddings", "search", "assistant", "acme-search", "retrieval", "ai-search", "embeddings",
       (("text-embedding-3-large", 1.0),), 400, profile="global", context_scale=0.4, customers=True,
       error_rate=0.003, duplicate_share=0.25, operation="embeddings", category="embedding"),
    _F("doc-indexing", "search", "assistant", "acme-search", "indexing", "ai-search", "embeddings",
       (("text-embedding-3-large", 1.0),), 150, profile="nightly", context_scale=50.0, customers=True,
       environments=(("prod", 1.0),), error_rate=0.003, operation="embeddings", category="embedding"),
    # support: ticket triage (Claude Haiku, cached taxonomy prompt) and the support agent
    _F("ticket-triage", "support", "helpdesk", "acme-helpdesk", "classification", "support-deflection",
       "chat", (("claude-haiku-4-5", 1.0),), 480, profile="global", context_scale=2.5, output_scale=0.3,
       prefix_tokens=6000, max_output=120, customers=True,
       outcome=_O("ticket_triaged", 0.95, None, "helpdesk")),
    _F("support-agent", "support", "helpdesk", "acme-helpdesk", "support-agent", "support-deflection",
       "agent", (("claude-sonnet-4-6", 0.7), ("claude-opus-4-6", 0.2), ("claude-haiku-4-5", 0.1)), 210,
       profile="global", context_scale=40.0, prefix_tokens=9000, cache_1h_share=0.1, customers=True,
       outcome=_O("ticket_resolved", 0.62, "9.50", "helpdesk"),
       migration=_G(19, (("claude-sonnet-4-5", 0.6), ("claude-haiku-4-5", 0.4)),
                    "The agent's main loop moved to Claude Sonnet 4.6, and more conversations to Sonnet.")),
    # sales: lead scoring and email drafts for ~40 reps
    _F("lead-scoring", "sales", "revops", "crm", "lead-qualification", "ai-sdr", "chat",
       (("gpt-4o-mini", 0.7), ("mistral-large-latest", 0.3)), 180, trace="code", context_scale=2.5,
       output_scale=2.0, prefix_tokens=1800, max_output=400,
       outcome=_O("lead_qualified", 0.08, "40.00", "crm")),
    _F("email-drafts", "sales", "revops", "crm", "email-drafting", "ai-sdr", "chat",
       (("claude-sonnet-4-5", 0.5), ("gpt-4.1", 0.5)), 220, context_scale=30.0, output_scale=1.5,
       prefix_tokens=2500, users=40, outcome=_O("email_sent", 0.55, None, "crm")),
    # data-science: the research agent and the nightly catalog-enrichment batch
    _F("research-agent", "data-science", "insights", "internal", "research-agent", "research-copilot",
       "agent", (("gpt-5.4", 1.0),), 55, growth=0.006, trace="code", context_scale=40.0, output_scale=20.0,
       prefix_tokens=4000, max_output=6000, users=25, operation="responses",
       outcome=_O("report_delivered", 0.7, "250.00", "app-events"),
       migration=_G(23, (("gpt-5", 1.0),), "The research agent moved from gpt-5 / gpt-5-mini to "
                    "gpt-5.4 / gpt-5.4-mini: pricier tokens, better reports.")),
    _F("catalog-enrichment", "data-science", "insights", "acme-search", "enrichment", "catalog-quality",
       "batch", (("gpt-4.1-mini", 0.7), ("claude-haiku-4-5", 0.3)), 240, profile="nightly",
       context_scale=5.0, output_scale=1.5, max_output=800, environments=(("prod", 1.0),),
       error_rate=0.004, operation="batch", outcome=_O("product_enriched", 0.95, "0.40", "catalog")),
    # platform: the two self-hosted endpoints' traffic and the nightly eval harness (staging)
    _F("internal-chat", "platform", "ml-platform", "internal", "internal-assistant", "employee-assistant",
       "chat", (("llama-3.1-70b-instruct", 1.0),), 600, users=600, max_output=1200,
       environments=(("prod", 0.95), ("dev", 0.05)), error_rate=0.004, endpoint="llm-70b",
       outcome=_O("question_answered", 0.6, None, "app-events")),
    _F("pii-redaction", "platform", "data-privacy", "internal", "redaction", "data-privacy", "chat",
       (("llama-3.1-8b-instruct", 1.0),), 420, profile="global", trace="code", context_scale=0.7,
       output_scale=8.0, max_output=2000, environments=(("prod", 1.0),), error_rate=0.003,
       endpoint="llm-8b", outcome=_O("doc_redacted", 1.0, None, "app-events")),
    _F("model-evals", "platform", "evals", "internal", "evaluation", None, "eval",
       (("gpt-5.4", 0.25), ("claude-sonnet-4-6", 0.25), ("claude-opus-4-6", 0.1), ("gemini-3-pro-preview", 0.2),
        ("gpt-4.1", 0.2)), 120, profile="nightly", growth=0.0, trace="code", context_scale=10.0,
       environments=(("staging", 1.0),), category="evaluation"),
    # marketing: campaign copy (see the "model-tier-shift" incident) and SEO briefs
    _F("copy-generation", "marketing", "content", "marketing-site", "copywriting", "content-engine",
       "chat", (("gpt-4o-mini", 0.8), ("gpt-4.1-mini", 0.2)), 200, context_scale=5.0, output_scale=2.0,
       prefix_tokens=3000, users=12, outcome=_O("asset_published", 0.15, "35.00", "cms")),
    _F("seo-briefs", "marketing", "content", "marketing-site", "seo", "content-engine", "chat",
       (("gemini-3-pro-preview", 0.6), ("deepseek-chat", 0.4)), 80, context_scale=8.0, output_scale=3.0,
       users=6, outcome=_O("brief_published", 0.1, "60.00", "cms"),
       migration=_G(70, (("gemini-2.5-pro", 0.6), ("deepseek-chat", 0.4)),
                    "SEO briefs moved from Gemini 2.5 Pro to Gemini 3 Pro.")),
    # legal: long-context contract review (1h cache writes) and the zombie clause-library pilot
    _F("contract-review", "legal", "contracts", "internal", "contract-review", "legal-copilot", "chat",
       (("claude-opus-4-6", 0.75), ("claude-sonnet-4-6", 0.25)), 260, trace="code", context_scale=55.0,
       output_scale=40.0, max_output=8000, max_context=190_000, prefix_tokens=4000, cache_1h_share=0.7,
       users=15, outcome=_O("doc_summarized", 0.8, "45.00", "dms"),
       migration=_G(36, (("claude-sonnet-4-5", 1.0),), "Legal moved contract review from Claude "
                    "Sonnet 4.5 to Opus 4.6 (hard contracts) and Sonnet 4.6: better redlines, higher bill.")),
    _F("clause-library", "legal", "contracts", "internal", "clause-extraction", ZOMBIE_INITIATIVE, "chat",
       (("claude-opus-4-1", 0.5), ("gpt-5", 0.5)), 70, growth=0.0, trace="code", context_scale=25.0,
       output_scale=10.0, max_context=190_000, prefix_tokens=2000, users=3),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("llm-70b", "llama-3.1-70b-instruct", "aws", "us-east-1", "p5.48xlarge", "H100", 8, 1,
             "reserved", "platform", "ml-platform", "internal-chat", "employee-assistant"),
    Endpoint("llm-8b", "llama-3.1-8b-instruct", "aws", "us-east-1", "g6.2xlarge", "L4", 1, 2,
             "on_demand", "platform", "data-privacy", "pii-redaction", "data-privacy"),
)

TRAINING_JOBS: tuple[TrainingJob, ...] = (
    TrainingJob("ranker-train", "search", "assistant", "ai-search", "aws", "us-east-1", "p5.48xlarge",
                "H100", 8, 2, "spot", hours=10, every_days=7, first_days_before_end=3.9),
    TrainingJob("redaction-ft", "platform", "data-privacy", "data-privacy", "aws", "us-east-1",
                "p4d.24xlarge", "A100", 8, 1, "on_demand", hours=6, every_days=14,
                first_days_before_end=5.6),
    # Run 0 (the latest) is the runaway: see the "runaway-training" incident.
    TrainingJob("churn-llm-ft", "data-science", "insights", "research-copilot", "gcp", "us-central1",
                "a2-highgpu-8g", "A100", 8, 1, "spot", hours=8, every_days=10,
                first_days_before_end=9.25, overrides={0: RUNAWAY_TRAINING_HOURS}),
    TrainingJob("embedding-distill", "data-science", "insights", "ai-search", "gcp", "us-central1",
                "a3-highgpu-8g", "H100", 8, 1, "on_demand", hours=20, every_days=30,
                first_days_before_end=27.5),
)

INCIDENTS: tuple[Incident, ...] = (
    Incident("idle-gpu-endpoint", "idle_resource", "platform", "pii-redaction", 12.0, 5 * 24,
             "A config change sent pii-redaction to hosted gpt-4.1-mini for five days; the two L4 "
             "instances behind llm-8b kept running (and billing) at ~1% GPU utilisation."),
    Incident("prompt-bloat", "prompt_bloat", "search", "search-answers", 10 - 15 / 24, 48,
             "A retrieval bug put every retrieved passage into the prompt three times: input tokens "
             "per request on search-answers tripled for two days until the fix shipped."),
    Incident("runaway-training", "runaway_job", "data-science", "churn-llm-ft", 9.25,
             RUNAWAY_TRAINING_HOURS,
             f"A churn-llm-ft fine-tune on spot A100s missed its stop condition and ran "
             f"{RUNAWAY_TRAINING_HOURS} hours instead of the usual 8."),
    Incident("model-tier-shift", "model_shift", "marketing", "copy-generation", 6 - 9 / 24, 7 * 24,
             "Marketing switched copy-generation from gpt-4o-mini to claude-opus-4-1 as its default "
             "model: same traffic, a far more expensive tier (still in effect at the end of the demo)."),
    Incident("retry-storm", "retry_storm", "support", "ticket-triage", 4 - 14 / 24, 6,
             "Anthropic overload errors (529) on ticket-triage for six hours; clients retried up to "
             "five times, the gateway fell back to gpt-4.1-mini from the third attempt."),
    Incident("runaway-agent-loop", "agent_loop", "data-science", "research-agent", 2 - 10 / 24, 2.5,
             f"One research-agent workflow looped between two sub-agents and made {RUNAWAY_AGENT_CALLS} "
             "model calls in 2.5 hours before a human killed it."),
)
# fmt: on

"""The model catalog: per-provider data files, explicit id resolution, layers (catalog, discovery, overrides), query.

A data file `data/catalog/<provider>.json` holds:

    {"about": {"as_of": "YYYY-MM-DD", "sources": ["<where the prices and limits were read>", ...]},
     "defaults": {<ModelProfile fields>},
     "id_rules": {"strip_prefixes": ["us.", ...], "strip_suffixes": ["<regex>", ...]},     (optional)
     "models": {"<model id>": {<ModelProfile fields>, "aliases": [...], "released": "YYYY-MM-DD",
                               "deprecated": "YYYY-MM-DD", "shutdown": "YYYY-MM-DD", "family": false,
                               "pricing": {"input": ..., "tiers": [{"above_input_tokens": N, "input": ...}]}}}}

A model id resolves, in this order (first rule that matches wins; see `resolve`):
1. `exact`: the id is a key of `models`;
2. `alias`: the id is listed in some entry's `aliases`;
3. `dated`: after removing the file's `strip_prefixes` and then, repeatedly, date/version suffixes
   (`-2024-07-18`, `-20241022`, `@20241022`, plus the file's `strip_suffixes`), the id is a key or alias;
4. `family`: the longest key or alias that the (stripped) id starts with, followed by one of `- : @ . / _`.
   A family match gives the entry's capabilities but not its prices: a price for an unlisted variant would be
   a guess, so pricing falls back to the provider defaults (usually unknown → cost None).
Longest match always wins; the order entries appear in the file never matters.

An entry marked `"family": true` is a prefix that only carries capability facts for the models under it (e.g.
OpenRouter's `anthropic`): it is not a model, so `find_models` does not list it and it needs no prices.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import httpx

from accord.contracts import ConfigurationError, ModelProfile, PriceTier, Pricing

# Characters after which a catalog key may end inside a longer model id ("gpt-4o" matches "gpt-4o-audio").
_BOUNDARIES = ("-", ":", "@", ".", "/", "_")
# Date suffixes every provider uses for snapshots; files add their own (Bedrock `-v1:0`, Mistral `-2411`).
_DATE_SUFFIXES = (r"-\d{4}-\d{2}-\d{2}$", r"[-@]\d{8}$")
# Keys of a model entry that describe the catalog entry rather than the profile.
_ENTRY_KEYS = frozenset({"aliases", "released", "deprecated", "shutdown", "family"})
_FILE_KEYS = frozenset({"about", "defaults", "models", "id_rules"})
_OVERRIDES_ENV = "ACCORD_CATALOG_OVERRIDES"

Match = Literal["exact", "alias", "dated", "family", "none"]


@dataclass(frozen=True)
class CatalogEntry:
    """One model as the catalog (or a discovery source, or an override) describes it.

    `profile` carries only the fields this entry sets, so it can be merged over lower layers.
    """

    provider: str
    model: str
    profile: ModelProfile
    aliases: tuple[str, ...] = ()
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    price_tiers: tuple[PriceTier, ...] = ()
    family: bool = False


@dataclass(frozen=True)
class ProviderCatalog:
    """A parsed, validated `data/catalog/<provider>.json`."""

    provider: str
    defaults: ModelProfile
    entries: Mapping[str, CatalogEntry]
    aliases: Mapping[str, str]
    strip_prefixes: tuple[str, ...] = ()
    strip_suffixes: tuple[re.Pattern[str], ...] = ()
    as_of: dt.date | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """How a model id was resolved: the merged profile, the entry it matched (if any) and by which rule."""

    provider: str
    model: str
    profile: ModelProfile
    match: Match
    entry: CatalogEntry | None = None
    sources: tuple[str, ...] = ("catalog",)

    @property
    def price_tiers(self) -> tuple[PriceTier, ...]:
        return self.entry.price_tiers if self.entry is not None and self.match != "family" else ()


@dataclass(frozen=True)
class CatalogModel:
    """One row of `find_models`: a model reference, its resolved profile and its catalog dates."""

    provider: str
    model: str
    profile: ModelProfile
    released: dt.date | None = None
    deprecated: dt.date | None = None
    shutdown: dt.date | None = None
    sources: tuple[str, ...] = ("catalog",)

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}"


# --- parsing ------------------------------------------------------------------------------------------------


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: dates are 'YYYY-MM-DD' strings, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _tiers_supported() -> bool:
    """True once the contract's `Pricing` carries `tiers` itself (then they stay in the profile)."""
    return "tiers" in Pricing.model_fields


def parse_entry(provider: str, model: str, raw: Mapping[str, Any], *, where: str = "") -> CatalogEntry:
    """A model entry (profile fields plus catalog keys), validated; raises ValueError naming `where`."""
    where = where or f"{provider}:{model}"
    fields = {k: v for k, v in raw.items() if k not in _ENTRY_KEYS}
    tiers: tuple[PriceTier, ...] = ()
    pricing = fields.get("pricing")
    if isinstance(pricing, Mapping) and "tiers" in pricing:
        tiers = tuple(PriceTier.model_validate(t) for t in pricing["tiers"])
        if not _tiers_supported():
            fields["pricing"] = {k: v for k, v in pricing.items() if k != "tiers"}
    if "provider" in fields or "model" in fields:
        raise ValueError(f"{where}: 'provider' and 'model' come from the file and key, not the entry")
    try:
        profile = ModelProfile.model_validate(fields)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise ValueError(f"{where}: 'aliases' must be a list of model ids")
    released = _date(raw.get("released"), f"{where}.released")
    deprecated = _date(raw.get("deprecated"), f"{where}.deprecated")
    shutdown = _date(raw.get("shutdown"), f"{where}.shutdown")
    if deprecated and shutdown and shutdown < deprecated:
        raise ValueError(f"{where}: shutdown {shutdown} is before deprecation {deprecated}")
    family = raw.get("family", False)
    if not isinstance(family, bool):
        raise ValueError(f"{where}: 'family' is true or false")
    return CatalogEntry(provider, model, profile, tuple(aliases), released, deprecated, shutdown, tiers, family)


def parse_catalog(provider: str, data: Mapping[str, Any]) -> ProviderCatalog:
    """Validate one provider's catalog data; every problem raises ValueError naming the entry."""
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ValueError(f"{provider}: unknown top-level keys {sorted(unknown)}")
    try:
        defaults = ModelProfile.model_validate({"provider": provider, **data.get("defaults", {})})
    except ValueError as exc:
        raise ValueError(f"{provider}.defaults: {exc}") from exc
    rules = data.get("id_rules", {})
    if set(rules) - {"strip_prefixes", "strip_suffixes"}:
        raise ValueError(
            f"{provider}.id_rules: unknown keys {sorted(set(rules) - {'strip_prefixes', 'strip_suffixes'})}"
        )
    suffixes = tuple(re.compile(p if p.endswith("$") else p + "$") for p in rules.get("strip_suffixes", []))
    as_of, sources = _about(provider, data.get("about", {}))
    entries: dict[str, CatalogEntry] = {}
    aliases: dict[str, str] = {}
    for model, raw in data.get("models", {}).items():
        if not isinstance(raw, Mapping):
            raise ValueError(f"{provider}:{model}: an entry is an object of profile fields")
        entry = parse_entry(provider, model, raw)
        entries[model] = entry
        for alias in entry.aliases:
            if alias in aliases or alias in data.get("models", {}):
                raise ValueError(f"{provider}:{model}: alias {alias!r} is already a model id or another alias")
            aliases[alias] = model
    return ProviderCatalog(
        provider,
        defaults,
        entries,
        aliases,
        tuple(rules.get("strip_prefixes", [])),
        (*map(re.compile, _DATE_SUFFIXES), *suffixes),
        as_of,
        sources,
    )


def _about(provider: str, about: Any) -> tuple[dt.date | None, tuple[str, ...]]:
    """The file's provenance: the day its facts were read and where they were read from."""
    if not isinstance(about, Mapping) or set(about) - {"as_of", "sources"}:
        raise ValueError(f"{provider}.about: an object with 'as_of' and 'sources' only")
    sources = about.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        raise ValueError(f"{provider}.about.sources: a list of non-empty strings")
    return _date(about.get("as_of"), f"{provider}.about.as_of"), tuple(sources)


@cache
def load_provider(provider: str) -> ProviderCatalog:
    """The packaged catalog of `provider` (an empty one when there is no data file)."""
    path = resources.files("accord.adapters").joinpath(f"data/catalog/{provider}.json")
    if not path.is_file():
        return parse_catalog(provider, {})
    return parse_catalog(provider, json.loads(path.read_text(encoding="utf-8")))


def catalog_providers() -> list[str]:
    """Providers with a packaged data file."""
    folder = resources.files("accord.adapters").joinpath("data/catalog")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


# --- resolution ---------------------------------------------------------------------------------------------


def _lookup(catalog: ProviderCatalog, model: str) -> str | None:
    if model in catalog.entries:
        return model
    return catalog.aliases.get(model)


def _stripped(catalog: ProviderCatalog, model: str) -> list[str]:
    """`model` with its prefixes removed, then each successive suffix removal (shortest last)."""
    for prefix in catalog.strip_prefixes:
        if model.startswith(prefix) and len(model) > len(prefix):
            model = model[len(prefix) :]
            break
    steps = [model]
    changed = True
    while changed:
        changed = False
        for pattern in catalog.strip_suffixes:
            shorter = pattern.sub("", steps[-1], count=1)
            if shorter != steps[-1] and shorter:
                steps.append(shorter)
                changed = True
                break
    return steps


def _family(catalog: ProviderCatalog, model: str) -> str | None:
    best: str | None = None
    for key in (*catalog.entries, *catalog.aliases):
        fits = model.startswith(key) and len(model) > len(key) and model[len(key)] in _BOUNDARIES
        if fits and (best is None or len(key) > len(best)):
            best = key
    return None if best is None else _lookup(catalog, best)


def match_entry(catalog: ProviderCatalog, model: str) -> tuple[CatalogEntry | None, Match]:
    """The entry `model` resolves to and the rule that matched (see the module docstring)."""
    key = _lookup(catalog, model)
    if key is not None:
        return catalog.entries[key], "exact" if key == model else "alias"
    steps = _stripped(catalog, model)
    for step in steps[1:] if steps[0] == model else steps:
        key = _lookup(catalog, step)
        if key is not None:
            return catalog.entries[key], "dated"
    for step in steps:
        key = _family(catalog, step)
        if key is not None:
            return catalog.entries[key], "family"
    return None, "none"


def _layer(profile: ModelProfile, drop_pricing: bool) -> ModelProfile:
    if not drop_pricing or "pricing" not in profile.model_fields_set:
        return profile
    kept = {name: getattr(profile, name) for name in profile.model_fields_set if name != "pricing"}
    return ModelProfile(**kept)


# --- layers -------------------------------------------------------------------------------------------------

Clock = Callable[[], float]


@dataclass
class _Discovered:
    fetched_at: float
    entries: dict[str, CatalogEntry]


@dataclass
class Catalog:
    """Layered model facts: packaged catalog → discovery results (cached with a TTL) → user overrides.

    A later layer changes only the fields it sets (`ModelProfile.merged_with`). Nothing here touches the network
    except `discover`, which needs an httpx client passed in.
    """

    ttl: float = 3600.0
    clock: Clock = time.monotonic
    overrides: dict[tuple[str, str], CatalogEntry] = field(default_factory=dict)
    _discovered: dict[str, _Discovered] = field(default_factory=dict)
    _env_loaded: bool = False

    # overrides (code and file)

    def override(self, provider: str, model: str, profile: ModelProfile | Mapping[str, Any] | None = None) -> None:
        """Set facts for `provider:model` that win over catalog and discovery (only the fields given)."""
        if isinstance(profile, ModelProfile):
            entry = CatalogEntry(provider, model, profile)
        else:
            entry = parse_entry(provider, model, profile or {}, where=f"override {provider}:{model}")
        previous = self.overrides.get((provider, model))
        if previous is not None:
            entry = CatalogEntry(
                provider,
                model,
                previous.profile.merged_with(entry.profile),
                entry.aliases or previous.aliases,
                entry.released or previous.released,
                entry.deprecated or previous.deprecated,
                entry.shutdown or previous.shutdown,
                entry.price_tiers or previous.price_tiers,
            )
        self.overrides[(provider, model)] = entry

    def load_overrides(self, path: str | os.PathLike[str]) -> None:
        """Read a JSON file `{"provider:model": {<profile fields>}, ...}` of overrides."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read catalog overrides {os.fspath(path)!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"catalog overrides {os.fspath(path)!r}: expected an object keyed 'provider:model'"
            )
        for ref, fields in data.items():
            provider, sep, model = ref.partition(":")
            if not sep or not provider or not model or not isinstance(fields, dict):
                raise ConfigurationError(f"catalog overrides: {ref!r} must be 'provider:model' → object of fields")
            try:
                self.override(provider, model, fields)
            except ValueError as exc:
                raise ConfigurationError(f"catalog overrides {os.fspath(path)!r}: {exc}") from exc

    def _env_overrides(self) -> None:
        # Read lazily (never at import): the file named by ACCORD_CATALOG_OVERRIDES, once.
        if not self._env_loaded:
            self._env_loaded = True
            path = os.environ.get(_OVERRIDES_ENV)
            if path:
                self.load_overrides(path)

    # discovery

    def add_discovered(self, source: str, entries: Iterable[CatalogEntry]) -> None:
        """Store what a discovery source reported (replacing that source's earlier results)."""
        self._discovered[source] = _Discovered(self.clock(), {e.model: e for e in entries})

    def is_fresh(self, source: str) -> bool:
        found = self._discovered.get(source)
        return found is not None and self.clock() - found.fetched_at < self.ttl

    def _live_discovered(self, provider: str) -> list[CatalogEntry]:
        found: list[CatalogEntry] = []
        for cached in self._discovered.values():
            if self.clock() - cached.fetched_at >= self.ttl:
                continue  # expired results are ignored until fetched again
            found.extend(e for e in cached.entries.values() if e.provider == provider)
        return found

    # resolution

    def resolve(self, provider: str, model: str) -> Resolution:
        """`model`'s profile through every layer, with the catalog entry and rule that matched."""
        self._env_overrides()
        catalog = load_provider(provider)
        entry, how = match_entry(catalog, model)
        profile = catalog.defaults.model_copy(update={"model": model})
        object.__setattr__(profile, "__pydantic_fields_set__", catalog.defaults.model_fields_set | {"model"})
        sources = ["catalog"] if entry is not None else []
        if entry is not None:
            profile = profile.merged_with(_layer(entry.profile, drop_pricing=how == "family"))
        for found in self._live_discovered(provider):
            if found.model == model:
                profile = profile.merged_with(found.profile)
                sources.append("discovery")
        user = self.overrides.get((provider, model))
        if user is not None:
            profile = profile.merged_with(user.profile)
            sources.append("override")
            if user.price_tiers:
                entry, how = user, "exact"
        return Resolution(provider, model, profile, how, entry, tuple(sources))

    def profile(self, provider: str, model: str) -> ModelProfile:
        return self.resolve(provider, model).profile

    def models(self, providers: Sequence[str] | None = None) -> list[CatalogModel]:
        """Every model the layers know by name (catalog entries, discovered ids, overrides), resolved."""
        self._env_overrides()
        wanted = list(providers) if providers else None
        refs: dict[tuple[str, str], CatalogEntry | None] = {}
        for provider in wanted or catalog_providers():
            for model, packaged in load_provider(provider).entries.items():
                if not packaged.family:
                    refs[(provider, model)] = packaged
        for cached in self._discovered.values():
            if self.clock() - cached.fetched_at < self.ttl:
                for found in cached.entries.values():
                    refs.setdefault((found.provider, found.model), found)
        for key, user in self.overrides.items():
            refs.setdefault(key, user)
        rows = []
        for (provider, model), entry in refs.items():
            if wanted is not None and provider not in wanted:
                continue
            resolved = self.resolve(provider, model)
            in_catalog = resolved.entry if resolved.match != "family" else None
            layers = [e for e in (self.overrides.get((provider, model)), in_catalog, entry) if e is not None]
            rows.append(
                CatalogModel(
                    provider,
                    model,
                    resolved.profile,
                    next((e.released for e in layers if e.released), None),
                    next((e.deprecated for e in layers if e.deprecated), None),
                    next((e.shutdown for e in layers if e.shutdown), None),
                    resolved.sources,
                )
            )
        return rows


CATALOG = Catalog()


def catalog_profile(provider: str, model: str) -> ModelProfile:
    """The profile `HTTPAdapter.profile` starts from: every layer of the default catalog."""
    return CATALOG.profile(provider, model)


def price_tiers(provider: str, model: str) -> tuple[PriceTier, ...]:
    """Long-context price tiers of `provider:model` (empty when none or when matched only by family)."""
    return CATALOG.resolve(provider, model).price_tiers


# --- query --------------------------------------------------------------------------------------------------


def _rank(row: CatalogModel) -> tuple[int, float, int, str]:
    price = row.profile.pricing.input
    return (
        1 if row.deprecated is not None else 0,
        price if price is not None else float("inf"),
        -(row.profile.max_context or 0),
        row.ref,
    )


def find_models(
    *,
    requires_tools: bool = False,
    requires_vision: bool = False,
    requires_reasoning: bool = False,
    requires_native_output: bool = False,
    requires_documents: bool = False,
    min_context: int | None = None,
    min_output: int | None = None,
    max_input_price: float | None = None,
    max_output_price: float | None = None,
    provider: str | Sequence[str] | None = None,
    include_deprecated: bool = True,
    include_shutdown: bool = False,
    today: dt.date | None = None,
    catalog: Catalog | None = None,
) -> list[CatalogModel]:
    """Models that satisfy every filter, ranked.

    A filter on a fact the catalog does not know (no context size, no price) excludes the model: unknown never
    passes as good enough. Models past their shutdown date are left out unless `include_shutdown`.
    Ranking: models without a deprecation date first; then by input price, cheapest first (unknown price last);
    then by context window, largest first; then by `provider:model` for a stable order.
    """
    source = catalog or CATALOG
    providers = [provider] if isinstance(provider, str) else list(provider) if provider else None
    day = today or dt.date.today()
    rows = []
    for row in source.models(providers):
        p = row.profile
        checks = (
            not requires_tools or p.supports_tools,
            not requires_vision or p.supports_vision,
            not requires_reasoning or p.supports_reasoning,
            not requires_native_output or p.supports_native_output,
            not requires_documents or p.supports_documents,
            min_context is None or (p.max_context is not None and p.max_context >= min_context),
            min_output is None or (p.max_output is not None and p.max_output >= min_output),
            max_input_price is None or (p.pricing.input is not None and p.pricing.input <= max_input_price),
            max_output_price is None or (p.pricing.output is not None and p.pricing.output <= max_output_price),
            include_deprecated or row.deprecated is None,
            include_shutdown or row.shutdown is None or row.shutdown > day,
        )
        if all(checks):
            rows.append(row)
    return sorted(rows, key=_rank)


# --- discovery ----------------------------------------------------------------------------------------------
# Fetchers run over an httpx client the caller passes in; nothing is fetched at import or implicitly.
# Failures raise typed errors (never an empty list that looks like "no models").


async def _get_json(
    client: httpx.AsyncClient, method: str, url: str, provider: str, *, headers: Mapping[str, str], body: Any = None
) -> Any:
    from ._errors import build_error, openai_style_details, parse_body
    from ._http import transport_error

    try:
        response = await client.request(method, url, headers=dict(headers), json=body)
    except httpx.HTTPError as exc:
        raise transport_error(exc, provider, None) from exc
    if response.status_code >= 400:
        parsed = parse_body(response.content)
        raise build_error(
            provider=provider,
            model=None,
            status=response.status_code,
            details=openai_style_details(parsed, f"discovery failed: HTTP {response.status_code}"),
            rules=(),
            headers=response.headers,
            body=parsed,
        )
    try:
        return response.json()
    except ValueError as exc:
        from accord.contracts import ResponseParseError

        raise ResponseParseError(
            f"{provider}: discovery answer is not JSON", raw=response.content, provider=provider
        ) from exc


def _created(value: Any) -> dt.date | None:
    if isinstance(value, int | float) and value > 0:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).date()
    return None


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def discover_openai(
    client: httpx.AsyncClient,
    *,
    base_url: str = "https://api.openai.com/v1",
    api_key: str | None = None,
    provider: str = "openai",
) -> list[CatalogEntry]:
    """`GET {base_url}/models`: model ids and creation dates; OpenAI itself reports nothing more there, but servers
    speaking its protocol add context sizes and capabilities (see `_CONTEXT_FIELDS`), which are taken when present."""
    payload = await _get_json(client, "GET", f"{base_url.rstrip('/')}/models", provider, headers=_auth(api_key))
    return [
        CatalogEntry(provider, item["id"], _listed_profile(item), released=_created(item.get("created")))
        for item in payload.get("data", [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


# Where OpenAI-compatible servers put a model's context size in `/models` items, first found wins: the window the
# server actually serves comes before the one the model was trained with.
_CONTEXT_FIELDS: tuple[tuple[str, ...], ...] = (
    ("meta", "n_ctx"),  # llama.cpp server: the context it was started with
    ("max_model_len",),  # vLLM
    ("max_context_length",),  # Mistral
    ("context_window",),  # Groq
    ("context_length",),  # Together, OpenRouter
    ("meta", "n_ctx_train"),  # llama.cpp server, when n_ctx is absent
)


def _field(item: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = item
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _listed_profile(item: Mapping[str, Any]) -> ModelProfile:
    fields: dict[str, Any] = {}
    for path in _CONTEXT_FIELDS:
        context = _field(item, path)
        if isinstance(context, int) and not isinstance(context, bool) and context > 0:
            fields["max_context"] = context
            break
    modalities = _field(item, ("architecture", "input_modalities"))  # llama.cpp, OpenRouter
    if isinstance(modalities, list):
        fields["supports_vision"] = "image" in modalities
    capabilities = item.get("capabilities")  # Mistral: {"vision": bool, "function_calling": bool, ...}
    if isinstance(capabilities, Mapping):
        if isinstance(capabilities.get("vision"), bool):
            fields["supports_vision"] = capabilities["vision"]
        if isinstance(capabilities.get("function_calling"), bool):
            fields["supports_tools"] = capabilities["function_calling"]
    return ModelProfile(**fields)


def _ollama_profile(show: Mapping[str, Any]) -> ModelProfile:
    fields: dict[str, Any] = {}
    capabilities = show.get("capabilities")
    if isinstance(capabilities, list):
        fields["supports_tools"] = "tools" in capabilities
        fields["supports_vision"] = "vision" in capabilities
        fields["supports_reasoning"] = "thinking" in capabilities
    info = show.get("model_info") or {}
    architecture = info.get("general.architecture")
    context = info.get(f"{architecture}.context_length") if architecture else None
    if isinstance(context, int) and context > 0:
        fields["max_context"] = context
    return ModelProfile(**fields)


async def discover_ollama(
    client: httpx.AsyncClient, *, base_url: str = "http://localhost:11434", provider: str = "ollama"
) -> list[CatalogEntry]:
    """`GET /api/tags` for the local models, then `POST /api/show` per model for capabilities and context."""
    root = base_url.rstrip("/")
    tags = await _get_json(client, "GET", f"{root}/api/tags", provider, headers={})
    entries = []
    for item in tags.get("models", []):
        name = item.get("name") or item.get("model") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        show = await _get_json(client, "POST", f"{root}/api/show", provider, headers={}, body={"model": name})
        released = None
        modified = item.get("modified_at")
        if isinstance(modified, str):
            try:
                released = dt.datetime.fromisoformat(modified).date()
            except ValueError:
                released = None
        entries.append(CatalogEntry(provider, name, _ollama_profile(show), released=released))
    return entries


def _per_million(value: Any) -> float | None:
    """OpenRouter prices are USD per token as strings; negative means variable (unknown)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number < 0 else round(number * 1_000_000, 6)


def _openrouter_profile(item: Mapping[str, Any]) -> ModelProfile:
    fields: dict[str, Any] = {}
    context = item.get("context_length")
    if isinstance(context, int) and context > 0:
        fields["max_context"] = context
    top = item.get("top_provider") or {}
    output = top.get("max_completion_tokens")
    if isinstance(output, int) and output > 0:
        fields["max_output"] = output
    params = item.get("supported_parameters")
    if isinstance(params, list):
        fields["supports_tools"] = "tools" in params
        fields["supports_tool_choice_required"] = "tool_choice" in params
        fields["supports_native_output"] = "structured_outputs" in params
        fields["supports_json_mode"] = "response_format" in params
        fields["supports_reasoning"] = "reasoning" in params or "include_reasoning" in params
    modalities = (item.get("architecture") or {}).get("input_modalities")
    if isinstance(modalities, list):
        fields["supports_vision"] = "image" in modalities
        fields["supports_documents"] = "file" in modalities
    raw_prices = item.get("pricing")
    if isinstance(raw_prices, dict):
        names = {
            "input": "prompt",
            "output": "completion",
            "cache_read": "input_cache_read",
            "cache_write": "input_cache_write",
            "reasoning": "internal_reasoning",
        }
        prices = {ours: _per_million(raw_prices[theirs]) for ours, theirs in names.items() if theirs in raw_prices}
        # A reasoning price of 0 on OpenRouter means "billed as output", not "free".
        if prices.get("reasoning") == 0:
            prices.pop("reasoning")
        fields["pricing"] = Pricing(**{k: v for k, v in prices.items() if v is not None})
    return ModelProfile(**fields)


async def discover_openrouter(
    client: httpx.AsyncClient,
    *,
    base_url: str = "https://openrouter.ai/api/v1",
    api_key: str | None = None,
    provider: str = "openrouter",
) -> list[CatalogEntry]:
    """`GET {base_url}/models`: ids with context, output limit, supported parameters, modalities and prices."""
    payload = await _get_json(client, "GET", f"{base_url.rstrip('/')}/models", provider, headers=_auth(api_key))
    return [
        CatalogEntry(provider, item["id"], _openrouter_profile(item), released=_created(item.get("created")))
        for item in payload.get("data", [])
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


Fetcher = Callable[..., Awaitable[list[CatalogEntry]]]
DISCOVERY: Mapping[str, Fetcher] = {
    "openai": discover_openai,
    "ollama": discover_ollama,
    "openrouter": discover_openrouter,
}


async def discover(
    source: str,
    client: httpx.AsyncClient,
    *,
    catalog: Catalog | None = None,
    force: bool = False,
    **options: Any,
) -> list[CatalogEntry]:
    """Run discovery `source` (`openai`, `ollama`, `openrouter`) into `catalog` unless its cached results are still
    fresh (TTL: `Catalog.ttl`). Options go to the fetcher: `base_url`, `api_key`, `provider` (e.g. an
    OpenAI-compatible server discovered with the `openai` fetcher under another provider name)."""
    target = catalog or CATALOG
    fetcher = DISCOVERY.get(source)
    if fetcher is None:
        raise ConfigurationError(f"unknown discovery source {source!r}; known: {', '.join(DISCOVERY)}")
    key = f"{source}@{options.get('provider', source)}@{options.get('base_url', '')}"
    if not force and target.is_fresh(key):
        return list(target._discovered[key].entries.values())
    entries = await fetcher(client, **options)
    target.add_discovered(key, entries)
    return entries

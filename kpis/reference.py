"""The reference data that people set: reps, stage weights, targets, rates.

The live engine reads it from Redis and the batch replay from a file; both
hand :meth:`ReferenceData.from_mapping` a plain document, which is checked
here so that a bad value is reported with its field path, the value and what
is accepted. Every key of the document is optional, and ``ReferenceData()``
holds the defaults: USD, UTC, a fiscal year from January, the standard stage
weights and no reps (every rep is then unassigned).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, TypeVar

from kpis.currencies import ISO_4217
from kpis.errors import KpiError
from kpis.events import Channel
from kpis.money import ExchangeRates, MoneyError
from kpis.periods import Calendar, Grain, Period, PeriodError

UNASSIGNED: Final = "unassigned"
"""The team and region of a rep missing from the directory."""

DEFAULT_STAGE_WEIGHTS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "prospecting": Decimal("0.1"),
        "qualification": Decimal("0.2"),
        "proposal": Decimal("0.5"),
        "negotiation": Decimal("0.8"),
    }
)
"""The probability of winning a deal in each open stage, unless set otherwise."""

SCOPES: Final = ("company", "team", "rep")
"""The scopes a target is set for; a company target has the key ``""``."""

_TARGET_GRAINS: Final = (Grain.MONTH, Grain.QUARTER, Grain.YEAR)
_UNASSIGNED_CACHE_LIMIT: Final = 10_000
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_T = TypeVar("_T")


class ReferenceError(KpiError):
    """A reference document with a value that cannot be accepted."""


@dataclass(frozen=True)
class Rep:
    """A sales rep of the directory."""

    rep_id: str
    name: str
    team: str
    region: str


TargetKey = tuple[str, str, str]
"""A target's (scope, key, period label)."""


@dataclass(frozen=True)
class ReferenceData:
    """Everything the KPIs need besides the events.

    Attributes:
        calendar: the time zone and the fiscal-year start.
        rates: the exchange rates to the reporting currency.
        stage_weights: the probability of winning for each open stage.
        reps: the rep directory by rep id.
        targets: amounts in the reporting currency by (scope, key, period
            label): scope ``company`` (key ``""``), ``team`` (key: the team) or
            ``rep`` (key: the rep id); the label of a month, quarter or year.
        gross_margin: the company-wide gross margin, 0 to 1, for LTV.
        gross_margin_by_product: a gross margin that overrides it by product.
        ltv_cap_months: the customer lifetime LTV assumes when churn is zero.
        churn_months: how many complete months LTV's churn rate averages.
        campaign_channels: the channel of each marketing campaign.
    """

    calendar: Calendar = field(default_factory=Calendar)
    rates: ExchangeRates = field(default_factory=ExchangeRates)
    stage_weights: Mapping[str, Decimal] = field(
        default_factory=lambda: DEFAULT_STAGE_WEIGHTS
    )
    reps: Mapping[str, Rep] = field(default_factory=lambda: MappingProxyType({}))
    targets: Mapping[TargetKey, Decimal] = field(
        default_factory=lambda: MappingProxyType({})
    )
    gross_margin: Decimal = Decimal("0.8")
    gross_margin_by_product: Mapping[str, Decimal] = field(
        default_factory=lambda: MappingProxyType({})
    )
    ltv_cap_months: int = 60
    churn_months: int = 1
    campaign_channels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    _unassigned: dict[str, Rep] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def rep(self, rep_id: str) -> Rep:
        """Return the rep ``rep_id``; a rep missing from the directory is unassigned.

        The missing rep is ``Rep(rep_id, rep_id, UNASSIGNED, UNASSIGNED)``.
        """
        rep = self.reps.get(rep_id)
        if rep is not None:
            return rep
        rep = self._unassigned.get(rep_id)
        if rep is None:
            rep = Rep(rep_id, rep_id, UNASSIGNED, UNASSIGNED)
            # Bounded, so that a flood of made-up rep ids cannot grow it.
            if len(self._unassigned) < _UNASSIGNED_CACHE_LIMIT:
                self._unassigned[rep_id] = rep
        return rep

    def stage_weight(self, stage: str) -> Decimal:
        """Return the weight of ``stage``; a stage missing from the table weighs 0.

        A deal in an unknown stage then adds nothing to the weighted pipeline
        and its full amount to the unweighted one.
        """
        return self.stage_weights.get(stage, _ZERO)

    def target(self, scope: str, key: str, period: Period) -> Decimal | None:
        """Return the target of ``scope`` and ``key`` for ``period``, if any.

        A quarter with no target of its own has the sum of its months' targets
        when all three have one; a year likewise the sum of its quarters'
        (each its own or its months'). Otherwise there is no target: None.
        """
        amount = self.targets.get((scope, key, period.label))
        if amount is not None:
            return amount
        if period.grain is Grain.QUARTER:
            parts = self.calendar.within(period, Grain.MONTH)
        elif period.grain is Grain.YEAR:
            parts = self.calendar.within(period, Grain.QUARTER)
        else:
            return None
        total = _ZERO
        for part in parts:
            part_amount = self.target(scope, key, part)
            if part_amount is None:
                return None
            total += part_amount
        return total

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ReferenceData:
        """Return the reference data of a document such as a reference file.

        Raises:
            ReferenceError: a key is unknown or a value is not accepted; the
                message names the field path, the value and what is accepted.
        """
        return _Reader().read(data)

    def to_mapping(self) -> dict[str, Any]:
        """Return the JSON-ready document that :meth:`from_mapping` reads back."""
        return {
            "reporting_currency": self.rates.reporting_currency,
            "timezone": self.calendar.timezone,
            "fiscal_year_start_month": self.calendar.fiscal_year_start_month,
            "stage_weights": _strings(self.stage_weights),
            "reps": [
                {"rep_id": r.rep_id, "name": r.name, "team": r.team, "region": r.region}
                for r in self.reps.values()
            ],
            "targets": [
                {"scope": scope, "key": key, "period": label, "amount": str(amount)}
                for (scope, key, label), amount in self.targets.items()
            ],
            "exchange_rates": {
                currency: [
                    {"from": _rfc3339(instant), "rate": str(rate)}
                    for instant, rate in history
                ]
                for currency, history in self.rates.rates.items()
            },
            "gross_margin": str(self.gross_margin),
            "gross_margin_by_product": _strings(self.gross_margin_by_product),
            "ltv_cap_months": self.ltv_cap_months,
            "churn_months": self.churn_months,
            "campaign_channels": dict(self.campaign_channels),
        }


def _strings(values: Mapping[str, Decimal]) -> dict[str, str]:
    """Return the decimals of ``values`` as strings."""
    return {name: str(value) for name, value in values.items()}


def _rfc3339(instant: datetime) -> str:
    """Return ``instant`` as RFC 3339 in UTC with a ``Z``."""
    text = instant.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


_KEYS: Final = (
    "reporting_currency",
    "timezone",
    "fiscal_year_start_month",
    "stage_weights",
    "reps",
    "targets",
    "exchange_rates",
    "gross_margin",
    "gross_margin_by_product",
    "ltv_cap_months",
    "churn_months",
    "campaign_channels",
)


class _Reader:
    """Reads a reference document, field by field, naming each bad value."""

    def read(self, data: Mapping[str, Any]) -> ReferenceData:
        """Return the reference data of the document ``data``."""
        document = _mapping("reference data", data)
        unknown = sorted(str(key) for key in document if key not in _KEYS)
        if unknown:
            raise ReferenceError(
                f"{unknown[0]}: not a reference data field; accepted: "
                + ", ".join(_KEYS)
            )
        defaults = ReferenceData()
        calendar = self.calendar(document)
        return ReferenceData(
            calendar=calendar,
            rates=self.rates(document),
            stage_weights=self.optional(
                document, "stage_weights", self.stage_weights, defaults.stage_weights
            ),
            reps=self.optional(document, "reps", self.reps, defaults.reps),
            targets=self.optional(
                document,
                "targets",
                lambda path, value: self.targets(path, value, calendar),
                defaults.targets,
            ),
            gross_margin=self.optional(
                document, "gross_margin", _share, defaults.gross_margin
            ),
            gross_margin_by_product=self.optional(
                document,
                "gross_margin_by_product",
                lambda path, value: _decimals(path, value, _share),
                defaults.gross_margin_by_product,
            ),
            ltv_cap_months=self.optional(
                document, "ltv_cap_months", _months, defaults.ltv_cap_months
            ),
            churn_months=self.optional(
                document, "churn_months", _months, defaults.churn_months
            ),
            campaign_channels=self.optional(
                document,
                "campaign_channels",
                self.campaign_channels,
                defaults.campaign_channels,
            ),
        )

    @staticmethod
    def optional(
        document: Mapping[str, Any],
        name: str,
        read: Callable[[str, Any], _T],
        default: _T,
    ) -> _T:
        """Return ``read(name, value)`` of the field ``name``, or ``default``."""
        if name not in document:
            return default
        return read(name, document[name])

    @staticmethod
    def calendar(document: Mapping[str, Any]) -> Calendar:
        """Return the calendar of the document's time zone and fiscal start."""
        month = document.get("fiscal_year_start_month", 1)
        if isinstance(month, bool) or not isinstance(month, int):
            raise ReferenceError(
                f"fiscal_year_start_month: {month!r} is not a month number 1 to 12"
            )
        try:
            return Calendar(document.get("timezone", "UTC"), month)
        except PeriodError as error:
            raise ReferenceError(str(error)) from error

    def rates(self, document: Mapping[str, Any]) -> ExchangeRates:
        """Return the exchange rates of the document."""
        currency = document.get("reporting_currency", "USD")
        _currency("reporting_currency", currency)
        histories: dict[str, list[tuple[datetime, Decimal]]] = {}
        given = _mapping("exchange_rates", document.get("exchange_rates", {}))
        for code, history in given.items():
            path = f"exchange_rates.{code}"
            _currency(path, code)
            if code == currency:
                raise ReferenceError(
                    f"{path}: the reporting currency {code} always has the rate 1"
                )
            histories[code] = [
                self.rate(f"{path}[{index}]", entry)
                for index, entry in enumerate(_list(path, history, non_empty=True))
            ]
        try:
            return ExchangeRates.of(currency, histories)
        except MoneyError as error:
            raise ReferenceError(f"exchange_rates: {error}") from error

    @staticmethod
    def rate(path: str, entry: Any) -> tuple[datetime, Decimal]:
        """Return the (from, rate) pair of one ``{"from": ..., "rate": ...}``."""
        fields = _fields(path, entry, required=("from", "rate"), optional=())
        return _instant(f"{path}.from", fields["from"]), _positive(
            f"{path}.rate", fields["rate"]
        )

    @staticmethod
    def stage_weights(path: str, value: Any) -> Mapping[str, Decimal]:
        """Return the stage weights table, each weight 0 to 1."""
        return _decimals(path, value, _share)

    @staticmethod
    def reps(path: str, value: Any) -> Mapping[str, Rep]:
        """Return the rep directory of a list of reps."""
        directory: dict[str, Rep] = {}
        for index, entry in enumerate(_list(path, value)):
            where = f"{path}[{index}]"
            fields = _fields(
                where, entry, required=("rep_id",), optional=("name", "team", "region")
            )
            rep_id = _text(f"{where}.rep_id", fields["rep_id"])
            if rep_id in directory:
                raise ReferenceError(f"{where}.rep_id: {rep_id!r} is listed twice")
            directory[rep_id] = Rep(
                rep_id,
                _text(f"{where}.name", fields.get("name", rep_id)),
                _text(f"{where}.team", fields.get("team", UNASSIGNED)),
                _text(f"{where}.region", fields.get("region", UNASSIGNED)),
            )
        return MappingProxyType(directory)

    @staticmethod
    def targets(
        path: str, value: Any, calendar: Calendar
    ) -> Mapping[TargetKey, Decimal]:
        """Return the targets of a list of ``{scope, key, period, amount}``."""
        targets: dict[TargetKey, Decimal] = {}
        for index, entry in enumerate(_list(path, value)):
            where = f"{path}[{index}]"
            fields = _fields(
                where, entry, required=("scope", "period", "amount"), optional=("key",)
            )
            scope = fields["scope"]
            if scope not in SCOPES:
                raise ReferenceError(
                    f"{where}.scope: {scope!r} is not one of {', '.join(SCOPES)}"
                )
            key = _target_key(f"{where}.key", scope, fields.get("key", ""))
            label = _target_period(f"{where}.period", fields["period"], calendar)
            if (scope, key, label) in targets:
                raise ReferenceError(
                    f"{where}: a second target for {scope} {key!r} in {label}"
                )
            targets[scope, key, label] = _amount(f"{where}.amount", fields["amount"])
        return MappingProxyType(targets)

    @staticmethod
    def campaign_channels(path: str, value: Any) -> Mapping[str, str]:
        """Return the channel of each campaign id."""
        channels: dict[str, str] = {}
        for campaign, channel in _mapping(path, value).items():
            where = f"{path}.{campaign}"
            _text(where, campaign)
            if channel not in set(Channel):
                raise ReferenceError(
                    f"{where}: {channel!r} is not a channel; accepted: "
                    + ", ".join(Channel)
                )
            channels[campaign] = str(channel)
        return MappingProxyType(channels)


def _mapping(path: str, value: Any) -> Mapping[str, Any]:
    """Return ``value`` if it is a mapping with string keys."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ReferenceError(f"{path}: {value!r} is not an object with string keys")
    return value


def _list(path: str, value: Any, *, non_empty: bool = False) -> list[Any]:
    """Return ``value`` if it is a list (or tuple), non-empty if so asked."""
    if not isinstance(value, list | tuple):
        raise ReferenceError(f"{path}: {value!r} is not a list")
    if non_empty and not value:
        raise ReferenceError(f"{path}: an empty list; give at least one entry")
    return list(value)


def _fields(
    path: str, value: Any, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> Mapping[str, Any]:
    """Return the object ``value`` after checking its keys."""
    fields = _mapping(path, value)
    for name in required:
        if name not in fields:
            raise ReferenceError(f"{path}.{name}: missing")
    for name in fields:
        if name not in required and name not in optional:
            raise ReferenceError(
                f"{path}.{name}: not a field here; accepted: "
                + ", ".join(required + optional)
            )
    return fields


def _text(path: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ReferenceError(f"{path}: {value!r} is not a non-empty string")
    return value


def _currency(path: str, value: Any) -> str:
    """Return ``value`` if it is an active ISO 4217 code."""
    if not isinstance(value, str) or value not in ISO_4217:
        raise ReferenceError(
            f"{path}: {value!r} is not an active ISO 4217 currency code (e.g. 'EUR')"
        )
    return value


def _decimal(path: str, value: Any, accepted: str) -> Decimal:
    """Return ``value`` (a decimal string or a number) as a finite Decimal."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}") from error
    if not number.is_finite():
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    return number


def _share(path: str, value: Any) -> Decimal:
    """Return ``value`` as a Decimal from 0 to 1."""
    accepted = "a decimal from 0 to 1 (e.g. '0.5')"
    number = _decimal(path, value, accepted)
    if not _ZERO <= number <= _ONE:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    return number


def _positive(path: str, value: Any) -> Decimal:
    """Return ``value`` as a Decimal above 0."""
    accepted = "a decimal above 0 (e.g. '1.08')"
    number = _decimal(path, value, accepted)
    if number <= _ZERO:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    return number


def _amount(path: str, value: Any) -> Decimal:
    """Return ``value`` as a Decimal of 0 or more."""
    accepted = "an amount of 0 or more (e.g. '120000')"
    number = _decimal(path, value, accepted)
    if number < _ZERO:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    return number


def _decimals(
    path: str, value: Any, read: Callable[[str, Any], Decimal]
) -> Mapping[str, Decimal]:
    """Return a table of names to decimals, each read by ``read``."""
    table = {
        _text(f"{path}.{name}", name): read(f"{path}.{name}", number)
        for name, number in _mapping(path, value).items()
    }
    return MappingProxyType(table)


def _months(path: str, value: Any) -> int:
    """Return ``value`` if it is a whole number of months, 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ReferenceError(f"{path}: {value!r} is not a whole number of months >= 1")
    return value


def _instant(path: str, value: Any) -> datetime:
    """Return ``value`` if it is an RFC 3339 time with an offset."""
    accepted = "an RFC 3339 time with an offset (e.g. '2026-01-01T00:00:00Z')"
    if not isinstance(value, str):
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as error:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}") from error
    if instant.utcoffset() is None:
        raise ReferenceError(f"{path}: {value!r} is not {accepted}")
    return instant


def _target_key(path: str, scope: str, value: Any) -> str:
    """Return a target's key: ``""`` for the company, a name otherwise."""
    if scope == "company":
        if value != "":
            raise ReferenceError(f"{path}: {value!r} is not '' (a company target)")
        return ""
    return _text(path, value)


def _target_period(path: str, value: Any, calendar: Calendar) -> str:
    """Return ``value`` if it labels a month, quarter or fiscal year."""
    accepted = "is not a month, quarter or fiscal-year label"
    if not isinstance(value, str):
        raise ReferenceError(f"{path}: {value!r} {accepted} (e.g. '2026-12')")
    try:
        period = calendar.period_of_label(value)
    except PeriodError as error:
        raise ReferenceError(f"{path}: {value!r} {accepted}") from error
    if period.grain not in _TARGET_GRAINS:
        raise ReferenceError(f"{path}: {value!r} {accepted}")
    return value

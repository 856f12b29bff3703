"""The simulated company: reps in teams and regions, products, campaigns, stages.

These are the reference data the simulator's events refer to, as frozen values
so that other code (the reference-data command line, tests) can write them
where the engine reads them.
"""

from dataclasses import dataclass
from decimal import Decimal

from kpis.events import Channel


@dataclass(frozen=True)
class Team:
    """A sales team, its region, the currency it sells in and what it costs."""

    name: str
    region: str
    currency: str
    monthly_cost: Decimal


@dataclass(frozen=True)
class Rep:
    """A sales rep of a team."""

    rep_id: str
    name: str
    team: str
    region: str


@dataclass(frozen=True)
class Product:
    """Something the company sells, at a list price per seat.

    A recurring product is billed monthly (the price is per seat and month and
    a deal's amount is a year of it); a one-off product is paid once.
    """

    product_id: str
    name: str
    list_price: Decimal
    unit_cost: Decimal
    recurring: bool


@dataclass(frozen=True)
class Campaign:
    """A marketing campaign, the channel its leads come from, its budget."""

    campaign_id: str
    name: str
    channel: Channel
    monthly_budget: Decimal
    leads_per_day: float


@dataclass(frozen=True)
class Stage:
    """A pipeline stage and the probability that a deal in it is won."""

    name: str
    weight: Decimal


@dataclass(frozen=True)
class Company:
    """Everything the simulator draws its events from."""

    name: str
    teams: tuple[Team, ...]
    reps: tuple[Rep, ...]
    products: tuple[Product, ...]
    campaigns: tuple[Campaign, ...]
    stages: tuple[Stage, ...]
    marketing_currency: str

    def team(self, name: str) -> Team:
        """Return the team called ``name``."""
        return next(team for team in self.teams if team.name == name)

    def stage_weights(self) -> dict[str, Decimal]:
        """Return the weight of each stage, by name."""
        return {stage.name: stage.weight for stage in self.stages}


_TEAMS = (
    Team("na-new-business", "north-america", "USD", Decimal("180000")),
    Team("na-accounts", "north-america", "USD", Decimal("120000")),
    Team("emea-new-business", "emea", "EUR", Decimal("150000")),
    Team("apac", "apac", "USD", Decimal("90000")),
)

_REP_NAMES = {
    "na-new-business": ("Ava Brooks", "Liam Carter", "Noah Diaz", "Mia Evans"),
    "na-accounts": ("Ethan Foster", "Zoe Grant", "Owen Hayes"),
    "emea-new-business": ("Lena Vogel", "Marco Rossi", "Ines Duarte", "Tom Baker"),
    "apac": ("Hana Sato", "Arjun Rao", "Chloe Ng"),
}

_PRODUCTS = (
    Product("crm-starter", "CRM Starter", Decimal("25"), Decimal("4"), True),
    Product("crm-pro", "CRM Professional", Decimal("60"), Decimal("9"), True),
    Product("analytics", "Revenue Analytics", Decimal("40"), Decimal("7"), True),
    Product(
        "onboarding", "Onboarding Package", Decimal("3000"), Decimal("1800"), False
    ),
    Product(
        "integration", "Custom Integration", Decimal("12000"), Decimal("7500"), False
    ),
)

_CAMPAIGNS = (
    Campaign("cmp-search", "Paid search", Channel.WEB, Decimal("30000"), 9.0),
    Campaign("cmp-webinar", "Monthly webinar", Channel.EVENT, Decimal("8000"), 3.0),
    Campaign("cmp-linkedin", "LinkedIn ads", Channel.SOCIAL, Decimal("15000"), 5.0),
    Campaign("cmp-newsletter", "Newsletter", Channel.EMAIL, Decimal("4000"), 4.0),
    Campaign(
        "cmp-partners", "Partner referrals", Channel.REFERRAL, Decimal("6000"), 2.0
    ),
    Campaign("cmp-tradeshow", "Trade show", Channel.IN_PERSON, Decimal("20000"), 1.5),
)

STAGES = (
    Stage("prospecting", Decimal("0.1")),
    Stage("qualification", Decimal("0.2")),
    Stage("proposal", Decimal("0.5")),
    Stage("negotiation", Decimal("0.8")),
)


def default_company() -> Company:
    """Return the company every simulation uses unless told otherwise."""
    reps = tuple(
        Rep(f"rep-{index:02d}", name, team.name, team.region)
        for index, (team, name) in enumerate(
            ((team, name) for team in _TEAMS for name in _REP_NAMES[team.name]),
            start=1,
        )
    )
    return Company(
        name="Northwind Software",
        teams=_TEAMS,
        reps=reps,
        products=_PRODUCTS,
        campaigns=_CAMPAIGNS,
        stages=STAGES,
        marketing_currency="USD",
    )

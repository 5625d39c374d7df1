"""Budgets, rate limits and admin-set model prices, with the exact decimal column they share.

Money is Decimal dollars: NUMERIC(38, 12) on PostgreSQL, and on SQLite (whose NUMERIC is a
float) the decimal's plain text, so every value reads back exactly as it was written.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import BigInteger, Column, Numeric, PrimaryKeyConstraint, String, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from infrastructure.db.tables.meta import metadata
from infrastructure.db.types import UtcDateTime

MONEY_PRECISION, MONEY_SCALE = 38, 12
MONEY_TEXT_LENGTH = 64


def plain_decimal(value: Decimal) -> Decimal:
    """The value without trailing zeros or an exponent: Decimal("0.10") → Decimal("0.1")."""
    with localcontext() as ctx:
        ctx.prec = 2 * MONEY_PRECISION  # normalize() rounds to the context's precision
        plain = Decimal(format(value.normalize(), "f"))
    return Decimal(0) if plain.is_zero() else plain  # never "-0"


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal that round-trips exactly on PostgreSQL and SQLite; never a float."""

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_TEXT_LENGTH))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"an exact decimal column needs a finite Decimal, got {value!r}")
        plain = plain_decimal(value)
        _, digits, exponent = plain.as_tuple()  # a plain decimal's exponent is never positive
        decimals, whole_digits = -int(exponent), len(digits) + int(exponent)
        if decimals > MONEY_SCALE or whole_digits > MONEY_PRECISION - MONEY_SCALE:
            raise ValueError(f"{plain} has more digits than an exact decimal column holds")
        return format(plain, "f") if dialect.name == "sqlite" else plain

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain_decimal(Decimal(value) if isinstance(value, Decimal) else Decimal(str(value)))


# One budget per scope and period; a limit left null is no limit on that measure.
budgets = Table(
    "budgets",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("scope_id", String(200), nullable=False),
    Column("period", String(16), nullable=False),
    Column("max_usd", ExactDecimal(), nullable=True),
    Column("max_tokens", BigInteger(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("scope", "scope_id", "period", name="pk_budgets"),
)

# The operator's cap on an org's budget, one per period: an org admin may not set the org's
# budget (nor a team's, person's or key's) above it, nor remove the org's budget under it.
org_budget_caps = Table(
    "org_budget_caps",
    metadata,
    Column("org_id", String(200), nullable=False),
    Column("period", String(16), nullable=False),
    Column("max_usd", ExactDecimal(), nullable=True),
    Column("max_tokens", BigInteger(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "period", name="pk_org_budget_caps"),
)

# Requests and tokens per minute for a key or a team.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("scope_id", String(200), nullable=False),
    Column("rpm", BigInteger(), nullable=True),
    Column("tpm", BigInteger(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("scope", "scope_id", name="pk_rate_limits"),
)

# Prices set through the admin API (the YAML configuration's prices win over these).
model_prices = Table(
    "model_prices",
    metadata,
    Column("provider", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("input_per_mtok", ExactDecimal(), nullable=False),
    Column("output_per_mtok", ExactDecimal(), nullable=False),
    Column("cached_input_per_mtok", ExactDecimal(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("cache_write_5m_per_mtok", ExactDecimal(), nullable=True),
    Column("cache_write_1h_per_mtok", ExactDecimal(), nullable=True),
    Column("reasoning_output_per_mtok", ExactDecimal(), nullable=True),
    PrimaryKeyConstraint("provider", "model", name="pk_model_prices"),
)

# The long-context tiers of an admin-set price: above `above_input_tokens` prompt tokens every
# rate is the tier's. Replaced with their price, all together.
model_price_tiers = Table(
    "model_price_tiers",
    metadata,
    Column("provider", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("above_input_tokens", BigInteger(), nullable=False),
    Column("input_per_mtok", ExactDecimal(), nullable=False),
    Column("output_per_mtok", ExactDecimal(), nullable=False),
    Column("cached_input_per_mtok", ExactDecimal(), nullable=True),
    Column("cache_write_5m_per_mtok", ExactDecimal(), nullable=True),
    Column("cache_write_1h_per_mtok", ExactDecimal(), nullable=True),
    Column("reasoning_output_per_mtok", ExactDecimal(), nullable=True),
    PrimaryKeyConstraint("provider", "model", "above_input_tokens", name="pk_model_price_tiers"),
)

"""Money in US dollars as Decimal, stored as whole picodollars (1e-12 USD)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

PICO_PER_USD = Decimal(10) ** 12
_PICO = Decimal(1) / PICO_PER_USD


def to_picodollars(usd: Decimal) -> int:
    return int((usd * PICO_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_picodollars(pico: int) -> Decimal:
    """Exact, however large (a context of enough digits for it, not the default 28)."""
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(str(abs(pico))) + 13)
        return (Decimal(pico) / PICO_PER_USD).quantize(_PICO).normalize()


def usd_text(usd: Decimal) -> str:
    """A plain decimal string (never exponent notation), for JSON; exact, however large."""
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(usd.as_tuple().digits) + 1)
        return format(usd.normalize(), "f")

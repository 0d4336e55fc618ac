"""How catalog figures read on a page: 200K tokens, $0.25 per 1M, free."""

from __future__ import annotations

from decimal import Decimal

from django import template

from leger.catalog.models import LLM

register = template.Library()

NOT_LISTED = "not listed"


@register.filter
def tokens(value: int | None) -> str:
    """A token count the way people say it: 8K, 200K, 1M, 10.5M."""
    if value is None:
        return NOT_LISTED
    thousands = round(value / 1000)
    if thousands >= 1000:
        return f"{round(value / 1_000_000, 1):g}M"
    if thousands >= 1:
        return f"{thousands}K"
    return str(value)


@register.filter
def usd(value: Decimal | None) -> str:
    """Dollars with cents, keeping the extra digits of sub-cent prices ($0.015)."""
    if value is None:
        return NOT_LISTED
    normalized = value.normalize()
    if normalized.as_tuple().exponent >= -2:  # type: ignore[operator]
        return f"${value:,.2f}"
    return f"${normalized:f}"


def is_free(llm: LLM) -> bool:
    if llm.is_local:
        return True
    if llm.input_price is None and llm.output_price is None:
        return llm.price_tier == LLM.Tier.FREE
    return not llm.input_price and not llm.output_price


@register.filter
def price_summary(llm: LLM) -> str:
    """One line of pricing: "free", "not listed", "$0.25 in / $1.25 out" or only the side that is known."""
    if is_free(llm):
        return "free"
    known = [
        f"{usd(price)} {side}"
        for price, side in ((llm.input_price, "in"), (llm.output_price, "out"))
        if price is not None
    ]
    return " / ".join(known) or NOT_LISTED

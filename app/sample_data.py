"""The sample domain's data: an online shop, generated deterministically at any size.

Six tables, the way the shop's systems deliver them:

============  ========  ===================================================================
table         format    who sends it
============  ========  ===================================================================
customers     CSV       the shop's back office (API, file)
products      CSV       the catalogue system (API, file)
orders        JSON      the order system (API, records, a JSON array)
order_lines   NDJSON    the order system (API, records)
payments      NDJSON    the payment provider (API, records)
events        NDJSON    the website's clickstream (files dropped in the landing zone)
============  ========  ===================================================================

Data comes in two *waves*. Wave 1 is the initial state. Wave 2 is what a real feed brings later,
on purpose: updates (orders move ``placed → paid → shipped → delivered``, customers change
e-mail, products change price, payments settle or are refunded), *late* records (a stale
version of an order that arrives after its newer version: it must lose), *repeated* records
(order lines and clickstream events sent again) and an exact duplicate file (the wave-1
payments file delivered a second time under another name).

Same ``rows`` and ``seed`` → byte-identical files. ``rows`` is the number of orders; the other
tables scale with it (about 4 customers per 16 orders, 2.5 lines and 10 events per order).

    python -m app.sample_data --rows 1000 --out landing_zone/data/raw
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import orjson

Format = Literal["csv", "json", "ndjson"]
Record = dict[str, Any]

TABLES = ("customers", "products", "orders", "order_lines", "payments", "events")
FORMATS: dict[str, Format] = {
    "customers": "csv",
    "products": "csv",
    "orders": "json",
    "order_lines": "ndjson",
    "payments": "ndjson",
    "events": "ndjson",
}
#: Tables that systems push through the API (the rest are files dropped in the landing zone).
API_TABLES = ("customers", "products", "orders", "order_lines", "payments")

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 28
FILE_ROWS = 50_000

COUNTRIES = ("PT", "ES", "FR", "DE", "IT", "NL", "BE", "IE")
CATEGORIES = ("books", "games", "garden", "kitchen", "music", "outdoor", "toys")
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "gift_card")
DEVICES = ("desktop", "mobile", "tablet")
FIRST_NAMES = ("Ana", "Bruno", "Carla", "Diogo", "Eva", "Filipe", "Gil", "Helena", "Ines", "Joao")
LAST_NAMES = ("Almeida", "Braga", "Costa", "Dias", "Esteves", "Faria", "Gomes", "Lopes", "Sousa")
#: Order statuses, in the order an order moves through them.
NEXT_STATUS = {"placed": "paid", "paid": "shipped", "shipped": "delivered", "delivered": "returned"}


@dataclass(frozen=True, slots=True)
class SampleFile:
    """One file of one table in one wave, with its records (in file order)."""

    table: str
    wave: int
    name: str
    records: list[Record] = field(repr=False)

    @property
    def format(self) -> Format:
        return FORMATS[self.table]


def ts(moment: datetime) -> str:
    """ISO 8601, UTC, second precision, with ``Z``: what every system of the shop sends."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _chunks(table: str, wave: int, records: list[Record]) -> Iterator[SampleFile]:
    ext = FORMATS[table]
    for part, start in enumerate(range(0, max(len(records), 1), FILE_ROWS), start=1):
        chunk = records[start : start + FILE_ROWS]
        if chunk:
            yield SampleFile(table, wave, f"{table}_w{wave}_{part:04d}.{ext}", chunk)


@dataclass
class _Shop:
    rows: int
    rng: random.Random
    customers: list[Record] = field(default_factory=list)
    products: list[Record] = field(default_factory=list)
    orders: list[Record] = field(default_factory=list)
    lines: list[Record] = field(default_factory=list)
    payments: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)
    wave1_events: int = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def build_wave1(self) -> None:
        rng = self.rng
        n_customers = max(20, self.rows // 4)
        n_products = max(20, min(2000, self.rows // 10))
        for cid in range(1, n_customers + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created = START - timedelta(days=rng.randint(1, 365), seconds=rng.randint(0, 86399))
            self.customers.append(
                {
                    "customer_id": cid,
                    "email": f"{first}.{last}.{cid}@example.com".lower(),
                    "first_name": first,
                    "last_name": last,
                    "country_code": rng.choice(COUNTRIES),
                    "created_at": ts(created),
                    "updated_at": ts(created),
                }
            )
        for pid in range(1, n_products + 1):
            category = rng.choice(CATEGORIES)
            self.products.append(
                {
                    "product_id": pid,
                    "sku": f"SKU-{pid:06d}",
                    "product_name": f"{category.title()} item {pid}",
                    "category": category,
                    "unit_price_cents": rng.randint(199, 19999),
                    "is_active": rng.random() > 0.05,
                    "updated_at": ts(START - timedelta(days=30)),
                }
            )
        line_id = 0
        for oid in range(1, self.rows + 1):
            customer = rng.choice(self.customers)
            ordered = START + timedelta(seconds=rng.randint(0, DAYS * 86400 - 1))
            status = rng.choices(
                ("placed", "paid", "shipped", "delivered", "cancelled"), (3, 3, 2, 2, 1)
            )[0]
            shipping = rng.choice((0, 0, 399, 599))
            order = {
                "order_id": oid,
                "customer_id": customer["customer_id"],
                "status": status,
                "ordered_at": ts(ordered),
                "shipping_cents": shipping,
                "updated_at": ts(ordered + timedelta(minutes=rng.randint(1, 600))),
            }
            self.orders.append(order)
            total = shipping
            chosen = rng.sample(self.products, rng.randint(1, 4))
            for number, product in enumerate(chosen, start=1):
                line_id += 1
                quantity = rng.randint(1, 3)
                price = product["unit_price_cents"]
                discount = price * quantity // 10 if rng.random() < 0.2 else 0
                total += price * quantity - discount
                self.lines.append(
                    {
                        "order_line_id": line_id,
                        "order_id": oid,
                        "line_number": number,
                        "product_id": product["product_id"],
                        "quantity": quantity,
                        "unit_price_cents": price,
                        "discount_cents": discount,
                        "updated_at": ts(ordered),
                    }
                )
            if status != "cancelled":
                self.payments.append(
                    {
                        "payment_id": oid,
                        "order_id": oid,
                        "payment_method": rng.choice(PAYMENT_METHODS),
                        "status": "pending" if status == "placed" else "succeeded",
                        "amount_cents": total,
                        "created_at": ts(ordered + timedelta(seconds=30)),
                        "updated_at": order["updated_at"],
                    }
                )
            self._session(ordered, customer["customer_id"], chosen, oid)
            for _ in range(2):  # sessions that do not convert
                anonymous = rng.random() < 0.4
                self._session(
                    START + timedelta(seconds=rng.randint(0, DAYS * 86400 - 1)),
                    None if anonymous else rng.choice(self.customers)["customer_id"],
                    rng.sample(self.products, rng.randint(1, 2)),
                    None,
                )

    def _session(
        self,
        at: datetime,
        customer_id: int | None,
        products: list[Record],
        order_id: int | None,
    ) -> None:
        """A visit's clickstream; it stops at a random step unless it places ``order_id``."""
        rng = self.rng
        session, device = self.uid(), rng.choice(DEVICES)
        steps = ["page_view", "product_view", "add_to_cart", "checkout_started", "order_placed"]
        reached = len(steps) if order_id is not None else rng.randint(1, len(steps) - 1)
        moment = at - timedelta(seconds=60 * reached)
        for step in steps[:reached]:
            per_product = step in ("product_view", "add_to_cart")
            targets: list[Record | None] = list(products) if per_product else [None]
            for product in targets:
                moment += timedelta(seconds=rng.randint(5, 50))
                self.events.append(
                    {
                        "event_id": self.uid(),
                        "session_id": session,
                        "customer_id": customer_id,
                        "event_type": step,
                        "product_id": product["product_id"] if product else None,
                        "order_id": order_id if step == "order_placed" else None,
                        "device": device,
                        "page_path": _page(step, product),
                        "occurred_at": ts(moment),
                    }
                )

    def wave2(self) -> dict[str, list[Record]]:
        """Updates, late (stale) versions and repeats of wave 1, plus new clickstream."""
        rng = self.rng
        later = START + timedelta(days=DAYS, hours=6)
        customers = [
            {**c, "email": f"new.{c['email']}", "updated_at": ts(later)}
            for c in rng.sample(self.customers, max(1, len(self.customers) // 10))
        ]
        products = [
            {**p, "unit_price_cents": p["unit_price_cents"] + 100, "updated_at": ts(later)}
            for p in rng.sample(self.products, max(1, len(self.products) // 10))
        ]
        orders: list[Record] = []
        payments: list[Record] = []
        pay_by_order = {p["order_id"]: p for p in self.payments}
        for order in rng.sample(self.orders, max(1, len(self.orders) // 5)):
            new_status = NEXT_STATUS.get(order["status"])
            if new_status is None:
                continue
            stamp = datetime.fromisoformat(order["updated_at"]) + timedelta(
                hours=rng.randint(1, 48)
            )
            orders.append({**order, "status": new_status, "updated_at": ts(stamp)})
            payment = pay_by_order.get(order["order_id"])
            if payment is not None and new_status in ("paid", "returned"):
                settled = "succeeded" if new_status == "paid" else "refunded"
                payments.append({**payment, "status": settled, "updated_at": ts(stamp)})
        # Late: a stale version (older updated_at than the current one) arriving after it.
        for order in rng.sample(self.orders, max(1, len(self.orders) // 20)):
            stamp = datetime.fromisoformat(order["updated_at"]) - timedelta(minutes=1)
            orders.append({**order, "status": "placed", "updated_at": ts(stamp)})
        # Repeated: lines of some orders sent again, unchanged.
        resent = {o["order_id"] for o in rng.sample(self.orders, max(1, len(self.orders) // 10))}
        lines = [line for line in self.lines if line["order_id"] in resent]
        # Clickstream: the tail of wave 1 sent again (a retried upload), then new visits.
        events = self.events[-max(1, len(self.events) // 20) :]
        for _ in range(max(1, self.rows // 10)):
            self._session(
                later + timedelta(seconds=rng.randint(0, 86399)),
                rng.choice(self.customers)["customer_id"],
                rng.sample(self.products, 1),
                None,
            )
        events = events + self.events[self.wave1_events :]
        return {
            "customers": customers,
            "products": products,
            "orders": orders,
            "order_lines": lines,
            "payments": payments,
            "events": events,
        }


def _page(step: str, product: Record | None) -> str:
    if product is not None:
        return f"/products/{product['sku'].lower()}"
    return {
        "page_view": "/",
        "checkout_started": "/checkout",
        "order_placed": "/checkout/done",
    }.get(step, "/cart")


def sample_files(rows: int = 1000, *, seed: int = 7) -> list[SampleFile]:
    """Every file of both waves in delivery order: wave 1, then wave 2; tables by dependency."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    shop = _Shop(rows, random.Random(seed))
    shop.build_wave1()
    wave1 = {
        "customers": list(shop.customers),
        "products": list(shop.products),
        "orders": list(shop.orders),
        "order_lines": list(shop.lines),
        "payments": list(shop.payments),
        "events": list(shop.events),
    }
    shop.wave1_events = len(shop.events)
    wave2 = shop.wave2()
    files: list[SampleFile] = []
    for wave, tables in ((1, wave1), (2, wave2)):
        for table in TABLES:
            files.extend(_chunks(table, wave, tables[table]))
    first_payments = next(f for f in files if f.table == "payments" and f.wave == 1)
    files.append(SampleFile("payments", 2, "payments_w2_resent.ndjson", first_payments.records))
    return files


def render(sample: SampleFile) -> bytes:
    """The file's bytes in its table's format."""
    if sample.format == "json":
        return orjson.dumps(sample.records, option=orjson.OPT_INDENT_2) + b"\n"
    if sample.format == "ndjson":
        return b"".join(orjson.dumps(r) + b"\n" for r in sample.records)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(sample.records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: "" if v is None else str(v).lower() if isinstance(v, bool) else v for k, v in r.items()}
        for r in sample.records
    )
    return out.getvalue().encode()


def write_file(sample: SampleFile, raw_dir: Path) -> Path:
    """Write ``sample`` into ``raw_dir/<table>/`` atomically (a ``.tmp`` the loader ignores)."""
    folder = raw_dir / sample.table
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / sample.name
    tmp = folder / f".{sample.name}.tmp"
    tmp.write_bytes(render(sample))
    os.replace(tmp, final)
    return final


def write_files(samples: Iterable[SampleFile], raw_dir: Path) -> list[Path]:
    return [write_file(sample, raw_dir) for sample in samples]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="Orders to generate.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("landing_zone/data/raw"))
    parser.add_argument("--wave", type=int, choices=(1, 2), help="Only this wave.")
    args = parser.parse_args(argv)
    files = [f for f in sample_files(args.rows, seed=args.seed) if args.wave in (None, f.wave)]
    for path in write_files(files, args.out):
        print(path)  # noqa: T201  # the command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

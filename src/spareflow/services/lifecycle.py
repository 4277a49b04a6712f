"""The lifecycles of orders and work orders: which action is allowed from which status.

Pure tables, no I/O: the services look an action up here before touching the store and
refuse anything else with an IllegalTransition naming the status and the allowed actions.
An action's result may depend on quantities (a receipt is partial or full); the tables
list every status an action may lead to, and the services pick one.
"""

from __future__ import annotations

from spareflow.errors import IllegalTransition

Lifecycle = dict[str, dict[str, tuple[str, ...]]]

PURCHASE: Lifecycle = {
    "draft": {"confirm": ("confirmed",), "cancel": ("cancelled",)},
    "confirmed": {"receive": ("partly_received", "received"), "cancel": ("cancelled",)},
    "partly_received": {"receive": ("partly_received", "received"), "close": ("closed",)},
    "received": {"close": ("closed",)},
    "closed": {},
    "cancelled": {},
}

TRANSFER: Lifecycle = {
    "draft": {"release": ("released",), "cancel": ("cancelled",)},
    "released": {"ship": ("shipped",), "cancel": ("cancelled",)},
    "shipped": {"depart": ("in_transit",), "receive": ("partly_received", "received")},
    "in_transit": {"receive": ("partly_received", "received")},
    "partly_received": {"receive": ("partly_received", "received"), "close": ("closed",)},
    "received": {"close": ("closed",)},
    "closed": {},
    "cancelled": {},
}

CUSTOMER: Lifecycle = {
    "open": {"allocate": ("allocated", "backordered"), "cancel": ("cancelled",)},
    "backordered": {
        "allocate": ("allocated", "backordered"),
        "pick": ("picked",),
        "cancel": ("cancelled",),
    },
    "allocated": {"pick": ("picked",), "cancel": ("cancelled",)},
    "picked": {"ship": ("shipped", "backordered")},
    "shipped": {"deliver": ("delivered",)},
    "delivered": {},
    "cancelled": {},
}

REPAIR: Lifecycle = {
    "draft": {"send": ("at_vendor",), "cancel": ("cancelled",)},
    "at_vendor": {"return": ("returned",), "condemn": ("condemned",)},
    "returned": {},
    "condemned": {},
    "cancelled": {},
}

WORK_ORDER: Lifecycle = {
    # start reserves the parts: with all of them the job is in progress, else it waits
    "open": {
        "start": ("in_progress", "waiting_for_parts"),
        "wait_for_parts": ("waiting_for_parts",),
        "cancel": ("cancelled",),
    },
    "waiting_for_parts": {
        "start": ("in_progress", "waiting_for_parts"),
        "complete": ("done",),  # only with partial=true: done without the missing parts
        "cancel": ("cancelled",),
    },
    "in_progress": {
        "wait_for_parts": ("waiting_for_parts",),
        "issue_parts": ("in_progress",),
        "complete": ("done",),
    },
    "done": {},
    "cancelled": {},
}

ORDER_LIFECYCLES: dict[str, Lifecycle] = {
    "purchase": PURCHASE,
    "transfer": TRANSFER,
    "customer": CUSTOMER,
    "repair": REPAIR,
}

INITIAL = {"purchase": "draft", "transfer": "draft", "customer": "open", "repair": "draft"}


def check(lifecycle: Lifecycle, what: str, status: str, action: str) -> tuple[str, ...]:
    """The statuses ``action`` may lead to from ``status``; IllegalTransition if none."""
    allowed = lifecycle.get(status, {})
    if action not in allowed:
        raise IllegalTransition(what, status, action, sorted(allowed))
    return allowed[action]


def is_final(lifecycle: Lifecycle, status: str) -> bool:
    return not lifecycle.get(status)

"""Users, roles, site scopes and machine tokens.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 defaults); API tokens are random
(256 bits) and only their SHA-256 hash is stored, so a database leak reveals neither.
Roles grant actions (``PERMISSIONS``); sites scope data: a user who is not an admin sees
and touches only the sites listed for them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spareflow.errors import Conflict, Forbidden, NotFound, ParameterError
from spareflow.services.master import get_site
from spareflow.store.models import ROLES, ApiToken, User, UserSite
from spareflow.store.types import utcnow

_hasher = PasswordHasher()
TOKEN_PREFIX = "sfk_"
MIN_PASSWORD = 12

# action -> roles allowed (admin may do everything)
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "master.write": frozenset({"admin", "planner"}),
    "sites.write": frozenset({"admin"}),
    "assets.write": frozenset({"admin", "planner", "technician"}),
    "moves.write": frozenset({"admin", "storekeeper"}),
    "orders.plan": frozenset({"admin", "planner"}),  # create, confirm, release, allocate, cancel
    "orders.handle": frozenset({"admin", "storekeeper"}),  # receive, ship, pick, deliver ...
    "repair.create": frozenset({"admin", "planner", "technician", "storekeeper"}),
    "work_orders.write": frozenset({"admin", "technician"}),
    "work_orders.issue": frozenset({"admin", "technician", "storekeeper"}),
    "plan.run": frozenset({"admin", "planner"}),
    # plan shipments (planners) and book the ones goods leave in (storekeepers)
    "shipments.write": frozenset({"admin", "planner", "storekeeper"}),
    # EPCIS events carry no site of ours: the repository is for callers who see every site
    "epcis": frozenset({"admin"}),
    "users.admin": frozenset({"admin"}),
    "tokens.own": frozenset(ROLES),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, their role and the sites they may act on."""

    username: str
    role: str
    sites: frozenset[str]

    @property
    def all_sites(self) -> bool:
        return self.role == "admin"

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]

    def require(self, action: str) -> None:
        if not self.can(action):
            allowed = ", ".join(sorted(PERMISSIONS[action]))
            raise Forbidden(f"role {self.role} may not {action} (allowed: {allowed})")

    def sees(self, site_id: str | None) -> bool:
        """Virtual locations (no site) are visible to all; sites only within scope."""
        return site_id is None or self.all_sites or site_id in self.sites

    def require_site(self, site_id: str | None) -> None:
        if not self.sees(site_id):
            raise Forbidden(f"user {self.username} has no access to site {site_id}")

    def site_filter(self) -> list[str] | None:
        """None for every site (admins), else the user's sites."""
        return None if self.all_sites else sorted(self.sites)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ParameterError("password", f"at least {MIN_PASSWORD} characters")
    if password.strip() != password or not password.strip():
        raise ParameterError("password", "no leading or trailing whitespace")


def add_user(
    session: Session, username: str, password: str, role: str, sites: list[str] | None = None
) -> User:
    """A new user; the very first user of a store must be an admin."""
    if not username or len(username) > 64 or username != username.strip():
        raise ParameterError("username", f"1 to 64 characters, no surrounding spaces: {username!r}")
    if role not in ROLES:
        raise ParameterError("role", f"one of {', '.join(ROLES)}, got {role!r}")
    if session.get(User, username) is not None:
        raise Conflict(f"user {username!r} already exists", "username")
    first = session.scalar(select(func.count()).select_from(User)) == 0
    if first and role != "admin":
        raise ParameterError("role", "the first user must be an admin (use --role admin)")
    check_password_rules(password)
    for site_id in sites or []:
        get_site(session, site_id)
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    session.add_all(UserSite(username=username, site_id=s) for s in sorted(set(sites or [])))
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> Principal | None:
    """The principal for a correct username and password, else None (never says which failed)."""
    user = session.get(User, username)
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time as a real check
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return principal(session, username)


def principal(session: Session, username: str) -> Principal | None:
    user = session.get(User, username)
    if user is None or not user.active:
        return None
    sites = session.scalars(select(UserSite.site_id).where(UserSite.username == username))
    return Principal(user.username, user.role, frozenset(sites))


def issue_api_token(session: Session, username: str, name: str) -> tuple[ApiToken, str]:
    """A new machine token for ``username``: the row, and the secret (shown once)."""
    if session.get(User, username) is None:
        raise NotFound(f"user {username!r} does not exist")
    if not name or len(name) > 100:
        raise ParameterError("name", "1 to 100 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(username=username, name=name, token_hash=_digest(secret))
    session.add(token)
    session.flush()
    return token, secret


def principal_for_api_token(session: Session, secret: str) -> Principal | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return principal(session, token.username)


def revoke_api_token(session: Session, token_id: int, by: Principal) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.username != by.username and not by.can("users.admin")):
        raise NotFound(f"API token {token_id} does not exist")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token


def set_sites(session: Session, username: str, sites: list[str]) -> None:
    if session.get(User, username) is None:
        raise NotFound(f"user {username!r} does not exist")
    for site_id in sites:
        get_site(session, site_id)
    for row in session.scalars(select(UserSite).where(UserSite.username == username)):
        session.delete(row)
    session.flush()
    session.add_all(UserSite(username=username, site_id=s) for s in sorted(set(sites)))
    session.flush()


def update_user(
    session: Session,
    username: str,
    *,
    role: str | None = None,
    sites: list[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a user's role, sites, active flag or password; the last active admin stays."""
    user = session.get(User, username, with_for_update=True)
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    if role is not None and role not in ROLES:
        raise ParameterError("role", f"one of {', '.join(ROLES)}, got {role!r}")
    demoted = user.role == "admin" and ((role not in (None, "admin")) or active is False)
    if demoted:
        admins = session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active)
        )
        if (admins or 0) <= 1:
            raise Conflict("the last active admin cannot be demoted or disabled", "role")
    if password is not None:
        check_password_rules(password)
        user.password_hash = hash_password(password)
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    if sites is not None:
        set_sites(session, username, sites)
    session.flush()
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

"""Talking to a peer's TAXII 2.1 server with the OASIS ``taxii2-client`` library.

The library returns parsed envelopes only; the ``X-TAXII-Date-Added-Last`` header
the pull cursor needs is read from each response through a ``requests`` hook.
Every request has a timeout, so a peer that hangs cannot stall the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from taxii2client.common import _HTTPConnection
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Collection

from accord.exchange.models import Peer

USER_AGENT = "Accord peer link (taxii2-client)"
TIMEOUT_SECONDS = 30
PAGE_SIZE = 1000


class PullError(Exception):
    """The peer could not be read; the message says why, for the status page."""


@dataclass
class Page:
    objects: list[dict[str, Any]]
    more: bool
    date_added_last: str  # "" when the page was empty


class _TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


class PeerClient:
    """One pull's connection to a peer (HTTP Basic with the credentials it gave us)."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.conn = _HTTPConnection(user_agent=USER_AGENT, version="2.1")
        session = _TimeoutSession()
        if peer.remote_username or peer.remote_secret:
            session.auth = requests.auth.HTTPBasicAuth(peer.remote_username, peer.remote_secret)
        session.hooks["response"].append(self._remember)
        self.conn.session = session
        self.last_headers: dict[str, str] = {}

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_headers = dict(response.headers)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Finding the collection ---------------------------------------------------------

    def api_root_url(self) -> str:
        """The configured address may be the API root or the server's discovery URL."""
        url = self.peer.api_root_url
        resource = self._get(url)
        if "api_roots" not in resource:
            return url
        root = resource.get("default") or next(iter(resource.get("api_roots") or []), "")
        if not root:
            raise PullError(f"The server at {url} lists no API root.")
        return requests.compat.urljoin(url, root).rstrip("/") + "/"

    def collection(self) -> Collection:
        root_url = self.api_root_url()
        if self.peer.collection_id:
            url = f"{root_url}collections/{self.peer.collection_id}/"
            return self._call(lambda: Collection(url, conn=self.conn))
        root = ApiRoot(root_url, conn=self.conn)
        readable = self._call(lambda: [c for c in root.collections if c.can_read])
        if not readable:
            raise PullError(f"The API root {root_url} offers no collection we may read.")
        return readable[0]

    # --- Reading objects -------------------------------------------------------------

    def pages(self, collection: Collection, added_after: str = "") -> Iterator[Page]:
        """Every object added after ``added_after`` (all versions the peer serves us),
        page by page following ``next``."""
        kwargs: dict[str, Any] = {"version": "all", "limit": PAGE_SIZE}
        if added_after:
            kwargs["added_after"] = added_after
        following = ""
        while True:
            if following:
                kwargs["next"] = following
            envelope = self._call(lambda: collection.get_objects(**kwargs))
            if not isinstance(envelope, dict):
                raise PullError("The peer answered with something that is not an envelope.")
            objects = envelope.get("objects") or []
            if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
                raise PullError("The peer's envelope holds something other than objects.")
            more = bool(envelope.get("more"))
            yield Page(objects, more, self.last_headers.get("X-TAXII-Date-Added-Last", ""))
            following = str(envelope.get("next") or "")
            if not more or not following:
                return

    def get_object(self, collection: Collection, stix_id: str) -> list[dict[str, Any]]:
        """The versions of one object the peer serves us (to fill in a reference to
        an object added before our cursor)."""
        envelope = self._call(lambda: collection.get_object(stix_id, version="all"))
        objects = envelope.get("objects") if isinstance(envelope, dict) else None
        if not isinstance(objects, list):
            return []
        return [obj for obj in objects if isinstance(obj, dict)]

    # --- Errors ------------------------------------------------------------------------

    def _get(self, url: str) -> dict[str, Any]:
        return self._call(lambda: self.conn.get(url))

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except requests.HTTPError as exc:
            response = exc.response
            status = response.status_code if response is not None else "?"
            raise PullError(f"HTTP {status} from {_where(exc)}{_describe(response)}") from exc
        except requests.Timeout as exc:
            raise PullError(f"No answer within {TIMEOUT_SECONDS} s from {_where(exc)}.") from exc
        except requests.ConnectionError as exc:
            raise PullError(f"Cannot connect to {_where(exc)}.") from exc
        except requests.RequestException as exc:
            raise PullError(f"The request failed: {exc}") from exc
        except TAXIIServiceException as exc:
            raise PullError(f"The peer's answer is not valid TAXII 2.1: {exc}") from exc
        except ValueError as exc:
            raise PullError(f"The peer's answer is not valid JSON: {exc}") from exc


def _where(exc: requests.RequestException) -> str:
    request = exc.request
    return request.url if request is not None and request.url else "the peer"


def _describe(response: requests.Response | None) -> str:
    """The TAXII error message's title and description, when the peer sent one."""
    if response is None:
        return "."
    try:
        body = response.json()
    except ValueError:
        return "."
    if not isinstance(body, dict):
        return "."
    parts = [str(body[key]) for key in ("title", "description") if body.get(key)]
    return (": " + " — ".join(parts))[:500] if parts else "."

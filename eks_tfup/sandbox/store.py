"""A generic, thread-safe, in-memory Kubernetes object store.

Objects are kept per (group, plural) regardless of the apiVersion they were written with (as the
real API server keeps one storage version), together with the apiVersion last used to write them,
so scanners can find objects still managed through removed APIs.
"""

from __future__ import annotations

import builtins
import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from eks_tfup import k8s_apis

Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # group, plural, namespace ("" for cluster scope), name


class StoreError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason  # NotFound, AlreadyExists, Conflict, Invalid, ...
        self.message = message


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_for(api_version: str, kind: str) -> k8s_apis.ApiResource:
    res = k8s_apis.lookup(api_version, kind)
    if res is None:
        raise StoreError(404, "NotFound", f"no matches for kind {kind!r} in version {api_version!r}")
    return res


def match_labels(labels: dict[str, str], selector: str | None) -> bool:
    """Equality- and set-based label selectors: `a=b,c!=d,e in (x,y),f notin (z),g,!h`."""
    if not selector:
        return True
    for term in _split_selector(selector):
        term = term.strip()
        if not term:
            continue
        if " notin " in term or " in " in term:
            neg = " notin " in term
            key, _, rest = term.partition(" notin " if neg else " in ")
            values = {v.strip() for v in rest.strip().strip("()").split(",")}
            has = labels.get(key.strip()) in values
            if has == neg:
                return False
        elif "!=" in term:
            key, _, value = term.partition("!=")
            if labels.get(key.strip()) == value.strip():
                return False
        elif "==" in term or "=" in term:
            key, _, value = term.partition("==" if "==" in term else "=")
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def _split_selector(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def match_fields(obj: Obj, selector: str | None) -> bool:
    """Field selectors the clients use: metadata.name, metadata.namespace, spec.nodeName, status.phase."""
    if not selector:
        return True
    for term in selector.split(","):
        neg = "!=" in term
        path, _, value = term.partition("!=" if neg else ("==" if "==" in term else "="))
        cur: Any = obj
        for part in path.strip().split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if (str(cur) if cur is not None else "") == value.strip():
            if neg:
                return False
        elif not neg:
            return False
    return True


class ObjectStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, Obj] = {}
        self._rv = itertools.count(1000)
        self.last_rv = 1000
        self.listeners: list[Callable[[str, Obj], None]] = []

    # -- helpers -------------------------------------------------------------------------------
    def _next_rv(self) -> str:
        self.last_rv = next(self._rv)
        return str(self.last_rv)

    @staticmethod
    def key_of(obj: Obj) -> Key:
        res = resource_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or ("default" if res.namespaced else "")
        if not res.namespaced:
            ns = ""
        return (res.group, res.plural, ns, meta.get("name", ""))

    def _notify(self, event: str, obj: Obj) -> None:
        for fn in self.listeners:
            fn(event, obj)

    # -- CRUD --------------------------------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        with self._lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if not meta.get("name"):
                raise StoreError(422, "Invalid", "metadata.name: Required value: name or generateName is required")
            key = self.key_of(obj)
            if key in self._objects:
                raise StoreError(409, "AlreadyExists", f'{key[1]} "{key[3]}" already exists')
            res = resource_for(obj["apiVersion"], obj["kind"])
            if res.namespaced:
                meta["namespace"] = key[2]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_rfc3339())
            meta["resourceVersion"] = self._next_rv()
            meta.setdefault("generation", 1)
            self._objects[key] = obj
            self._notify("ADDED", obj)
            return copy.deepcopy(obj)

    def put(self, obj: Obj) -> Obj:
        """Create or replace (no resourceVersion check): for the simulator's own writes."""
        with self._lock:
            key = self.key_of(obj)
            if key not in self._objects:
                return self.create(obj)
            old = self._objects[key]
            new = copy.deepcopy(obj)
            meta = new.setdefault("metadata", {})
            for f in ("uid", "creationTimestamp"):
                meta.setdefault(f, old["metadata"].get(f))
            if res_ns := key[2]:
                meta["namespace"] = res_ns
            meta["resourceVersion"] = self._next_rv()
            self._objects[key] = new
            self._notify("MODIFIED", new)
            return copy.deepcopy(new)

    def update(self, obj: Obj) -> Obj:
        """Replace, honouring optimistic concurrency when the caller sends a resourceVersion."""
        with self._lock:
            key = self.key_of(obj)
            old = self._objects.get(key)
            if old is None:
                raise StoreError(404, "NotFound", f'{key[1]} "{key[3]}" not found')
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise StoreError(409, "Conflict", f'Operation cannot be fulfilled on {key[1]} "{key[3]}": '
                                 "the object has been modified; please apply your changes to the latest "
                                 "version and try again")
            if obj.get("spec") != old.get("spec"):
                obj = copy.deepcopy(obj)
                obj.setdefault("metadata", {})["generation"] = int(old["metadata"].get("generation", 1)) + 1
            return self.put(obj)

    def get(self, group: str, plural: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            obj = self._objects.get((group, plural, namespace or "", name))
            return copy.deepcopy(obj) if obj is not None else None

    def delete(self, group: str, plural: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            obj = self._objects.pop((group, plural, namespace or "", name), None)
            if obj is not None:
                self._notify("DELETED", obj)
            return obj

    def list(self, group: str, plural: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> list[Obj]:
        """All matching objects, sorted by (namespace, name) so `continue` tokens are stable."""
        with self._lock:
            # Filter before sorting and copying: only this resource's matches pay for either.
            keys = sorted(k for k in self._objects
                          if k[0] == group and k[1] == plural and (namespace is None or k[2] == namespace))
            return [
                copy.deepcopy(o) for o in (self._objects[k] for k in keys)
                if match_labels((o.get("metadata") or {}).get("labels") or {}, label_selector)
                and match_fields(o, field_selector)
            ]

    def all_objects(self) -> Iterable[Obj]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._objects.values()]

    def count(self, group: str, plural: str) -> int:
        with self._lock:
            return sum(1 for (g, p, _, _) in self._objects if g == group and p == plural)

    # -- additions for the API server ----------------------------------------------------------
    def locked(self) -> threading.RLock:
        """The store's lock, to take a snapshot and subscribe to changes atomically (watches)."""
        return self._lock

    def add_listener(self, fn: Callable[[str, Obj], None]) -> None:
        """Subscribe to ADDED/MODIFIED/DELETED events; `fn` runs under the store lock: keep it quick."""
        with self._lock:
            self.listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, Obj], None]) -> None:
        with self._lock:
            if fn in self.listeners:
                self.listeners.remove(fn)

    def list_page(self, group: str, plural: str, namespace: str | None = None,
                  label_selector: str | None = None, field_selector: str | None = None,
                  after: tuple[str, str] | None = None, limit: int = 0) -> tuple[builtins.list[Obj], bool, int]:
        """One page of `list`: items strictly after the (namespace, name) `after`, at most `limit`.

        Returns (items, more, last_rv). Only the page is deep-copied and only this resource's keys
        are sorted, so paging through 10,000 pods costs a scan per page, not a copy of everything.
        `more` is True when matching items remain after the page.
        """
        with self._lock:
            keys = sorted(
                (ns, name) for (g, p, ns, name) in self._objects
                if g == group and p == plural and (namespace is None or ns == namespace)
                and (after is None or (ns, name) > after)
            )
            out: builtins.list[Obj] = []
            more = False
            for ns, name in keys:
                o = self._objects[(group, plural, ns, name)]
                if not (match_labels((o.get("metadata") or {}).get("labels") or {}, label_selector)
                        and match_fields(o, field_selector)):
                    continue
                if limit and len(out) >= limit:
                    more = True
                    break
                out.append(copy.deepcopy(o))
            return out, more, self.last_rv

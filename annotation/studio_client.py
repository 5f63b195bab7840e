"""A connection to a Label Studio server through label-studio-sdk 2.x, with errors users can read.

Where the server is: explicit arguments, else ``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY``,
else the local server started by ``moralgap studio start``. Both kinds of token work: a
personal access token (a JWT refresh token, which the SDK exchanges for access tokens) and
a legacy token. The token is never put into a message, a log line or a manifest.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Iterator

import httpx

from moralgap.errors import ConfigError, MoralgapError

log = logging.getLogger(__name__)


class StudioError(MoralgapError):
    """Label Studio could not be reached, refused us, or lost what we asked for."""


class ProjectGone(StudioError):
    """The project was deleted (or never existed) on the server."""


@dataclass(frozen=True)
class StudioTarget:
    url: str
    api_key: str

    def __repr__(self) -> str:  # keep the key out of tracebacks and debug logs
        return f"StudioTarget(url={self.url!r}, api_key=<hidden>)"


def resolve_target(url: str | None = None, api_key: str | None = None, *, home=None) -> StudioTarget:
    url = url or os.environ.get("LABEL_STUDIO_URL")
    api_key = api_key or os.environ.get("LABEL_STUDIO_API_KEY")
    if not url or not api_key:
        from .studio_server import StudioServer

        server = StudioServer(home)
        st = server.status()
        if not url:
            if not st.url:
                raise ConfigError("no Label Studio to talk to: pass --url/--api-key, set LABEL_STUDIO_URL and "
                                  "LABEL_STUDIO_API_KEY, or run 'moralgap studio start'")
            url = st.url
        if not api_key:
            api_key = server.token()
    from moralgap.redact import register_secret, warn_cleartext

    register_secret(api_key)
    warn_cleartext(url, "the Label Studio token")
    return StudioTarget(url.rstrip("/"), api_key)


def _detail(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        for key in ("validation_errors", "detail", "message"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body or exc)[:300]


class StudioClient:
    """The few operations moralgap needs, each turning SDK and network errors into StudioError."""

    def __init__(self, target: StudioTarget, *, timeout: float = 60.0):
        from label_studio_sdk import LabelStudio
        from label_studio_sdk.core.api_error import ApiError

        self.target = target
        self.url = target.url
        self._ApiError = ApiError
        try:
            self.sdk = LabelStudio(base_url=target.url, api_key=target.api_key, timeout=timeout)
        except ApiError as exc:  # an expired personal access token fails here already
            raise StudioError(f"Label Studio token refused: {_detail(exc)}") from None

    # -- error translation ---------------------------------------------------------------
    @contextlib.contextmanager
    def _call(self, what: str, project_id: int | None = None):
        try:
            yield
        except self._ApiError as exc:
            code = exc.status_code
            if code in (401, 403):
                raise StudioError(f"Label Studio at {self.url} refused the API token while trying to {what} "
                                  f"(HTTP {code}): check LABEL_STUDIO_API_KEY / --api-key") from None
            if code == 404 and project_id is not None:
                raise ProjectGone(f"Label Studio project {project_id} does not exist at {self.url} "
                                  f"(deleted?) while trying to {what}") from None
            raise StudioError(f"Label Studio at {self.url} failed to {what} (HTTP {code}): {_detail(exc)}") from None
        except httpx.TransportError as exc:
            raise StudioError(f"no Label Studio answers at {self.url} ({type(exc).__name__}) while trying to {what}: "
                              "is it running? ('moralgap studio status')") from None

    # -- calls ---------------------------------------------------------------------------
    def whoami(self) -> dict:
        with self._call("check the connection"):
            me = self.sdk.users.whoami()
        return {"id": me.id, "email": me.email, "username": getattr(me, "username", None)}

    def check(self) -> dict:
        return self.whoami()

    def create_project(self, title: str, label_config: str, *, description: str = "",
                       maximum_annotations: int = 1) -> int:
        with self._call("create a project"):
            p = self.sdk.projects.create(title=title, label_config=label_config, description=description,
                                         maximum_annotations=maximum_annotations, overlap_cohort_percentage=100,
                                         show_collab_predictions=True)
        return int(p.id)

    def get_project(self, project_id: int) -> dict:
        with self._call("read the project", project_id):
            p = self.sdk.projects.get(id=project_id)
        return {"id": p.id, "title": p.title, "description": p.description or "",
                "label_config": p.label_config, "task_number": getattr(p, "task_number", None)}

    def delete_project(self, project_id: int) -> None:
        with self._call("delete the project", project_id):
            self.sdk.projects.delete(id=project_id)

    def import_tasks(self, project_id: int, tasks: list[dict], *, batch: int = 500) -> list[int]:
        """Import tasks (with their predictions) in batches; return the new task ids in order."""
        ids: list[int] = []
        for start in range(0, len(tasks), batch):
            chunk = tasks[start:start + batch]
            with self._call("import tasks", project_id):
                resp = self.sdk.projects.import_tasks(id=project_id, request=chunk, return_task_ids=True)
            got = list(getattr(resp, "task_ids", None) or [])
            if len(got) != len(chunk):
                raise StudioError(f"Label Studio imported {len(got)} of {len(chunk)} tasks into project {project_id}")
            ids.extend(int(i) for i in got)
        return ids

    def iter_tasks(self, project_id: int, *, page_size: int = 100) -> Iterator[dict]:
        """Every task with its annotations, page by page (for servers without snapshot exports)."""
        page = 1
        while True:
            with self._call("read tasks", project_id):
                resp = self.sdk.tasks.with_raw_response.list(project=project_id, page=page, page_size=page_size,
                                                             fields="all")
            items = list(resp.items or [])
            for t in items:
                yield t.dict()
            total = getattr(resp.response, "total", None)
            if not items or (total is not None and page * page_size >= total):
                return
            page += 1

    def count_tasks(self, project_id: int) -> int:
        with self._call("count tasks", project_id):
            resp = self.sdk.tasks.with_raw_response.list(project=project_id, page=1, page_size=1, fields="task_only")
        return int(getattr(resp.response, "total", 0) or 0)

    def export_snapshot(self, project_id: int, *, timeout_s: float = 600) -> list[dict]:
        """A full JSON export through a server-side snapshot: one consistent view of a large project."""
        with self._call("create an export snapshot", project_id):
            snap = self.sdk.projects.exports.create(id=project_id, title="moralgap pull")
        deadline = time.monotonic() + timeout_s
        status = snap.status
        while status not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise StudioError(f"export snapshot of project {project_id} did not finish within {timeout_s:.0f} s")
            time.sleep(0.5)
            with self._call("poll the export snapshot", project_id):
                status = self.sdk.projects.exports.get(id=project_id, export_pk=snap.id).status
        if status == "failed":
            raise StudioError(f"Label Studio failed to build the export snapshot of project {project_id}")
        with self._call("download the export snapshot", project_id):
            raw = b"".join(self.sdk.projects.exports.download(id=project_id, export_pk=snap.id, export_type="JSON"))
        with contextlib.suppress(Exception), self._call("delete the export snapshot", project_id):
            self.sdk.projects.exports.delete(id=project_id, export_pk=snap.id)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise StudioError(f"export of project {project_id} is not JSON ({exc.msg})") from None
        return data

    def create_annotation(self, task_id: int, result: list[dict], *, project_id: int | None = None,
                          lead_time: float | None = None) -> int:
        with self._call("create an annotation", project_id):
            a = self.sdk.annotations.create(id=task_id, result=result, lead_time=lead_time)
        return int(a.id)

    def create_prediction(self, task_id: int, result: list[dict], *, score: float | None = None,
                          model_version: str = "moralgap") -> int:
        with self._call("create a prediction"):
            p = self.sdk.predictions.create(task=task_id, result=result, score=score, model_version=model_version)
        return int(p.id)


def connect(url: str | None = None, api_key: str | None = None, *, home=None, check: bool = True) -> StudioClient:
    client = StudioClient(resolve_target(url, api_key, home=home))
    if check:
        client.check()
    return client



def user_emails(client: StudioClient) -> dict[int, str]:
    """Label Studio user id -> e-mail, to name annotators in exports that carry only ids."""
    with client._call("list users"):
        users = client.sdk.users.list()
    return {int(u.id): (u.email or u.username or f"user-{u.id}") for u in users}


def export_tasks(client: StudioClient, project_id: int, *, method: str = "snapshot", page_size: int = 100):
    """Every task of a project with its annotations, parsed; refuses an export missing tasks.

    ``snapshot`` asks the server for an export snapshot (one consistent view, fine for large
    projects); ``pages`` reads the task list page by page, for servers where exports are off.
    """
    from .labelstudio_files import parse_export

    if method not in ("snapshot", "pages"):
        raise ConfigError(f"unknown export method {method!r}: use 'snapshot' or 'pages'")
    expected = client.count_tasks(project_id)
    users = user_emails(client)
    if method == "snapshot":
        raw = client.export_snapshot(project_id)
    else:
        raw = list(client.iter_tasks(project_id, page_size=page_size))
    tasks = parse_export(raw, f"{client.url} project {project_id} ({method} export)", users=users)
    if len(tasks) < expected:
        raise StudioError(f"export of project {project_id} holds {len(tasks)} tasks but the server counts "
                          f"{expected}: refusing a truncated export")
    return tasks

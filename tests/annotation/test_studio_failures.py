"""Failure cases against the real server: nothing answering, a wrong token, a project deleted mid-way."""
from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner

from moralgap.records import Judgment

pytestmark = [pytest.mark.slow, pytest.mark.studio]


def test_server_down_is_a_clear_error_and_writes_nothing(tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.annotation.studio_client import StudioError, connect
    from moralgap.annotation.studio_server import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(StudioError, match="no Label Studio answers"):
        connect(url, "0123456789abcdef0123456789abcdef01234567")
    out = tmp_path / "ann.jsonl"
    res = CliRunner().invoke(annotate_group, ["pull", "--project", "1", "--out", str(out), "--url", url,
                                              "--api-key", "0123456789abcdef0123456789abcdef01234567"])
    assert isinstance(res.exception, StudioError) and not out.exists()


def test_wrong_token_is_refused_without_echoing_it(studio):
    from moralgap.annotation.studio_client import StudioClient, StudioError, StudioTarget

    bad = "f" * 40
    with pytest.raises(StudioError, match="refused the API token") as info:
        StudioClient(StudioTarget(studio.url, bad)).check()
    assert bad not in str(info.value)
    assert bad not in repr(StudioTarget(studio.url, bad))


def test_project_deleted_mid_way(studio, small_folder, tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.annotation.rationale_tasks import push_rationales
    from moralgap.annotation.studio_client import ProjectGone

    folder, rationales = small_folder
    judgments = [Judgment(id=r, dilemma_id="d1", verdict="acceptable", rationale=t) for r, t in rationales.items()]
    pid, _ = push_rationales(studio.client, judgments, folder.taxonomy)
    studio.client.delete_project(pid)
    env = {"LABEL_STUDIO_URL": studio.url, "LABEL_STUDIO_API_KEY": studio.token}
    folder.save(tmp_path / "tax")
    for args, out in ((["pull", "--project", str(pid), "--out", str(tmp_path / "a.jsonl")], tmp_path / "a.jsonl"),
                      (["review", "pull", str(tmp_path / "tax"), "--project", str(pid), "--out", str(tmp_path / "new")],
                       tmp_path / "new")):
        res = CliRunner().invoke(annotate_group, args, env=env)
        assert isinstance(res.exception, ProjectGone), res.output
        assert f"project {pid} does not exist" in str(res.exception)
        assert not out.exists()
    # pushing more tasks into the deleted project fails the same way
    with pytest.raises(ProjectGone):
        push_rationales(studio.client, judgments, folder.taxonomy, project_id=pid)


def test_push_into_existing_project_sends_only_new_rationales(studio, small_folder):
    from moralgap.annotation.rationale_tasks import push_rationales

    folder, rationales = small_folder
    judgments = [Judgment(id=r, dilemma_id="d1", verdict="acceptable", rationale=t) for r, t in rationales.items()]
    pid, first = push_rationales(studio.client, judgments[:2], folder.taxonomy)
    _, second = push_rationales(studio.client, judgments, folder.taxonomy, project_id=pid)
    assert len(first.tasks) == 2 and len(second.tasks) == 1 and second.skipped_existing == 2
    assert studio.client.count_tasks(pid) == 3


def test_local_server_status_token_and_log(studio):
    from moralgap.annotation.cli import studio_group

    st = studio.server.status()
    assert st.answers and st.url == studio.url and st.url.startswith("http://127.0.0.1:")
    assert stat.S_IMODE(studio.server.token_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((studio.home / "admin.json").stat().st_mode) == 0o600
    assert studio.token not in studio.server.log_path.read_text(errors="replace")
    res = CliRunner().invoke(studio_group, ["status", "--home", str(studio.home)])
    assert res.exit_code == 0 and studio.url in res.output and studio.token not in res.output


def test_status_of_a_home_without_server(tmp_path):
    from moralgap.annotation.cli import studio_group

    res = CliRunner().invoke(studio_group, ["status", "--home", str(tmp_path)])
    assert res.exit_code == 1 and "no local Label Studio is running" in res.output
    res = CliRunner().invoke(studio_group, ["stop", "--home", str(tmp_path)])
    assert res.exit_code == 0 and "no local Label Studio was running" in res.output


def test_personal_access_token_works(studio):
    """A personal access token (a JWT refresh token the SDK exchanges) connects like a legacy one."""
    import httpx

    from moralgap.annotation.studio_client import connect

    admin = httpx.Client(base_url=studio.url, headers={"Authorization": f"Token {studio.token}"}, timeout=30)
    admin.post("/api/jwt/settings", json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": True}).raise_for_status()
    pat = admin.post("/api/token/").raise_for_status().json()["token"]
    assert pat.count(".") == 2  # a JWT, not a legacy token
    assert connect(studio.url, pat).whoami()["email"] == connect(studio.url, studio.token).whoami()["email"]

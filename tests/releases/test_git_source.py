"""Published releases as a Git repository: what ``leger deploy install --source URL`` clones.

The leger CLI runs ``git clone --depth 1 URL`` and installs the files at the top of the clone, so these tests
clone for real, with the ``git`` command line, from a live server. Commit ids are checked against ones computed
here by hand from Git's object format, so "the same data gives the same commits" is a fact, not a hope.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from leger.cli.tokens import Identity, token_issue
from leger.releases import git_source
from leger.releases.models import Owner, Promotion, Release, ReleaseFile
from tests.services import run_together

UTC = dt.UTC
V1_AT = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
V2_AT = dt.datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
V3_AT = dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

V1_FILES = {
    "llm.network": "[Network]\nNetworkName=llm\n",
    "openwebui.container": "[Container]\nImage=ghcr.io/open-webui/open-webui:v0.6.5\nNetwork=llm.network\n",
    "openwebui.env": "WEBUI_NAME=Léger ✓\r\nENABLE_SIGNUP=false\r\n",
    "Caddyfile": "box.tail1234.ts.net:8443 {\n\treverse_proxy openwebui:8080\n}",  # no final newline
}
V2_FILES = {
    "llm.network": "[Network]\nNetworkName=llm\n",
    "openwebui.container": "[Container]\nImage=ghcr.io/open-webui/open-webui:v0.6.7\nNetwork=llm.network\n",
    "openwebui.env": "WEBUI_NAME=Léger ✓\r\nENABLE_SIGNUP=true\r\n",
    "searxng.container": "[Container]\nImage=docker.io/searxng/searxng:2025.1.1\n",
    "settings.yml": "use_default_settings: true\nserver:\n  secret_key: ''\n",
}
V3_FILES = {**V2_FILES, "qdrant.container": "[Container]\nImage=docker.io/qdrant/qdrant:v1.13.0\n"}


# --- making releases ---------------------------------------------------------------------------------------------


def manifest_text(owner: Owner, version: int, name: str, files: dict[str, str]) -> str:
    return json.dumps(
        {
            "version": version,
            "created_at": "2025-01-01T00:00:00Z",
            "user_uuid": str(owner.uuid),
            "name": name,
            "services": [{"name": f.split(".")[0], "files": [f]} for f in sorted(files) if f.endswith(".container")],
            "volumes": [],
            "networks": ["llm"],
            "secrets": [],
        },
        indent=2,
    )


def publish(user: User, version: int, name: str, files: dict[str, str], at: dt.datetime) -> Release:
    """A published release made straight in the database, promoted to latest at its publish time."""
    owner, _ = Owner.objects.get_or_create(user=user)
    Owner.objects.filter(pk=owner.pk).update(last_version=max(owner.last_version, version))
    release = Release.objects.create(
        owner=user,
        name=name,
        status=Release.Status.PUBLISHED,
        version=version,
        snapshot={"version": version},
        progress=100,
        cut_at=at,
        published_at=at,
    )
    every = {**files, "manifest.json": manifest_text(owner, version, name, files)}
    ReleaseFile.objects.bulk_create(
        ReleaseFile(
            release=release,
            path=file_path,
            content=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            size=len(text.encode()),
        )
        for file_path, text in every.items()
    )
    Promotion.objects.create(owner=user, release=release, promoted_by=user, promoted_at=at)
    return release


def files_of(release: Release) -> dict[str, bytes]:
    return {f.path: f.content.encode("utf-8") for f in release.files.all()}


def roll_back(release: Release, at: dt.datetime) -> Promotion:
    return Promotion.objects.create(owner=release.owner, release=release, promoted_by=release.owner, promoted_at=at)


@pytest.fixture(autouse=True)
def git_dir(settings: Any, tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        message = "git is not installed (Debian: apt-get install git); Leger runs it to serve releases"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    settings.LEGER_GIT_DIR = tmp_path / "git"
    return settings.LEGER_GIT_DIR


@pytest.fixture
def three(alice: User) -> dict[int, Release]:
    """Alice's v1, v2 and v3, each promoted when published (latest is v3); plus a draft and a failed cut."""
    releases = {
        1: publish(alice, 1, "First stack", V1_FILES, V1_AT),
        2: publish(alice, 2, "With SearXNG", V2_FILES, V2_AT),
        3: publish(alice, 3, "With Qdrant", V3_FILES, V3_AT),
    }
    Release.objects.create(owner=alice, name="Still a draft")
    Release.objects.create(owner=alice, name="Broke", status=Release.Status.FAILED, version=4, snapshot={})
    return releases


def cli_token(user: User) -> str:
    """A real leger CLI token for ``user``, as `leger auth login` gets one."""
    owner, _ = Owner.objects.get_or_create(user=user)
    identity = Identity(
        login_name=f"{user.username}@example.org",
        user_id="123456",
        device_ip="100.64.0.7",
        device_hostname="box",
        device_id="nDEVICE7",
    )
    raw, _ = token_issue(owner=user, owner_uuid=str(owner.uuid), identity=identity)
    return raw


def owner_of(user: User) -> Owner:
    return Owner.objects.get(user=user)


# --- Git's object format, by hand --------------------------------------------------------------------------------


def object_id(kind: str, body: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()


def tree_id(files: dict[str, bytes]) -> str:
    entries = b"".join(
        b"100644 %s\0" % name.encode() + bytes.fromhex(object_id("blob", data))
        for name, data in sorted(files.items(), key=lambda item: item[0].encode())
    )
    return object_id("tree", entries)


def commit_id(files: dict[str, bytes], *, parent: str | None, at: dt.datetime, message: str) -> str:
    when = f"{int(at.timestamp())} +0000"
    body = f"tree {tree_id(files)}\n"
    if parent:
        body += f"parent {parent}\n"
    body += f"author Leger <releases@leger.invalid> {when}\ncommitter Leger <releases@leger.invalid> {when}\n\n"
    return object_id("commit", (body + message).encode())


def expected_commits(releases: dict[int, Release]) -> dict[int, str]:
    ids: dict[int, str] = {}
    parent = None
    for version in sorted(releases):
        release = releases[version]
        parent = commit_id(
            files_of(release), parent=parent, at=release.published_at, message=f"v{version}: {release.name}\n"
        )
        ids[version] = parent
    return ids


# --- running git -------------------------------------------------------------------------------------------------


def git_env(home: Path) -> dict[str, str]:
    """Nothing of the machine's or the user's git config, and never a prompt."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


def git(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(home), capture_output=True, text=True, timeout=60, check=False
    )


def git_ok(*args: str, home: Path, cwd: Path | None = None) -> str:
    result = git(*args, home=home, cwd=cwd)
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def top_files(folder: Path) -> dict[str, bytes]:
    """The clone's files, which must all be at the top (the CLI installs a flat folder)."""
    found = {}
    for entry in folder.iterdir():
        if entry.name == ".git":
            continue
        assert entry.is_file(), f"{entry.name} is not a plain file at the top of the clone"
        found[entry.name] = entry.read_bytes()
    return found


def url(live_server: Any, owner: Owner, *, token: str | None, version: int | None = None) -> str:
    base = live_server.url.replace("http://", f"http://leger:{token}@" if token else "http://")
    return f"{base}/git/{owner.uuid}.git" if version is None else f"{base}/git/{owner.uuid}/v{version}.git"


def refs(output: str) -> dict[str, str]:
    return {name: sha for sha, name in (line.split("\t") for line in output.splitlines())}


# --- the repository itself ---------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestRepository:
    def test_it_makes_one_commit_per_published_release_with_ids_fixed_by_the_data(
        self, three: dict[int, Release], tmp_path: Path
    ) -> None:
        repository = git_source.owner_repository(owner_of(three[1].owner))
        expected = expected_commits(three)
        for version, commit in expected.items():
            assert git_ok("--git-dir", str(repository), "rev-parse", f"v{version}", home=tmp_path).strip() == commit
        log = git_ok(
            "--git-dir", str(repository), "log", "--format=%an <%ae>|%cn <%ce>|%at|%ct|%s", "v3", home=tmp_path
        )
        assert log.splitlines() == [
            f"Leger <releases@leger.invalid>|Leger <releases@leger.invalid>|{int(at.timestamp())}|"
            f"{int(at.timestamp())}|v{v}: {name}"
            for v, at, name in [(3, V3_AT, "With Qdrant"), (2, V2_AT, "With SearXNG"), (1, V1_AT, "First stack")]
        ]

    def test_each_commit_holds_exactly_its_release_files(self, three: dict[int, Release], tmp_path: Path) -> None:
        repository = git_source.owner_repository(owner_of(three[1].owner))
        for version, release in three.items():
            names = git_ok("--git-dir", str(repository), "ls-tree", "--name-only", f"v{version}", home=tmp_path)
            assert sorted(names.splitlines()) == sorted(files_of(release))
        # v2 dropped v1's Caddyfile: a commit's tree is its release, not the parent plus changes.
        assert "Caddyfile" not in git_ok("--git-dir", str(repository), "ls-tree", "--name-only", "v2", home=tmp_path)

    def test_latest_is_the_newest_promotion_and_head_names_it(self, three: dict[int, Release], tmp_path: Path) -> None:
        owner = owner_of(three[1].owner)
        expected = expected_commits(three)
        repository = git_source.owner_repository(owner)
        assert (
            git_ok("--git-dir", str(repository), "symbolic-ref", "HEAD", home=tmp_path).strip() == "refs/heads/latest"
        )
        assert git_ok("--git-dir", str(repository), "rev-parse", "latest", home=tmp_path).strip() == expected[3]

        roll_back(three[1], V3_AT + dt.timedelta(days=1))
        repository = git_source.owner_repository(owner)
        assert git_ok("--git-dir", str(repository), "rev-parse", "latest", home=tmp_path).strip() == expected[1]
        # The tags do not move, and v1 is still v1.
        assert git_ok("--git-dir", str(repository), "rev-parse", "v3", home=tmp_path).strip() == expected[3]

    def test_a_version_repository_has_that_version_as_its_default_branch(
        self, three: dict[int, Release], tmp_path: Path
    ) -> None:
        repository = git_source.version_repository(owner_of(three[1].owner), 2)
        assert git_ok("--git-dir", str(repository), "symbolic-ref", "HEAD", home=tmp_path).strip() == "refs/heads/main"
        assert (
            git_ok("--git-dir", str(repository), "rev-parse", "HEAD", home=tmp_path).strip()
            == (expected_commits(three)[2])
        )
        # Its objects are the full repository's, read through objects/info/alternates.
        assert not list((repository / "objects" / "pack").iterdir())
        git_ok("--git-dir", str(repository), "fsck", "--connectivity-only", "HEAD", home=tmp_path)

    def test_an_unchanged_owner_is_not_rebuilt(self, three: dict[int, Release], git_dir: Path) -> None:
        owner = owner_of(three[1].owner)
        git_source.owner_repository(owner)
        build = os.readlink(git_dir / str(owner.uuid))
        git_source.owner_repository(owner)
        git_source.version_repository(owner, 1)
        assert os.readlink(git_dir / str(owner.uuid)) == build

        publish(owner.user, 5, "Fifth", V1_FILES, V3_AT + dt.timedelta(days=2))
        assert git_source.version_repository(owner, 5).is_dir()
        assert os.readlink(git_dir / str(owner.uuid)) != build
        # The replaced build stays for the clones that started on it.
        assert (git_dir / build / "all.git").is_dir()

    def test_a_retired_build_is_removed_once_its_grace_is_over(
        self, three: dict[int, Release], git_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        owner = owner_of(three[1].owner)
        git_source.owner_repository(owner)
        first = git_dir / os.readlink(git_dir / str(owner.uuid))
        roll_back(three[1], V3_AT + dt.timedelta(days=1))
        git_source.owner_repository(owner)
        assert first.is_dir()  # retired just now: kept

        monkeypatch.setattr(git_source, "RETIRED_BUILD_SECONDS", -1)
        roll_back(three[2], V3_AT + dt.timedelta(days=2))
        git_source.owner_repository(owner)
        assert [build.name for build in (git_dir / ".builds").iterdir()] == [
            Path(os.readlink(git_dir / str(owner.uuid))).name
        ]

    def test_it_rebuilds_the_same_commits_from_scratch(
        self, three: dict[int, Release], git_dir: Path, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)

        def tags() -> str:
            return git_ok("--git-dir", str(git_source.owner_repository(owner)), "show-ref", home=tmp_path)

        before = tags()
        shutil.rmtree(git_dir)
        assert tags() == before

    def test_an_owner_who_published_nothing_has_no_repository(self, alice: User) -> None:
        owner = Owner.objects.create(user=alice)
        Release.objects.create(owner=alice, name="Draft")
        with pytest.raises(git_source.RepositoryNotFound, match="not published a release yet"):
            git_source.owner_repository(owner)

    def test_an_unpublished_version_has_no_repository(self, three: dict[int, Release]) -> None:
        with pytest.raises(git_source.RepositoryNotFound, match="no published release v4"):
            git_source.version_repository(owner_of(three[1].owner), 4)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_build_one_repository_and_agree(alice: User, git_dir: Path, tmp_path: Path) -> None:
    publish(alice, 1, "First stack", V1_FILES, V1_AT)
    publish(alice, 2, "With SearXNG", V2_FILES, V2_AT)
    owner = owner_of(alice)

    def clone_source() -> Path:
        return git_source.owner_repository(Owner.objects.get(pk=owner.pk))

    results = run_together([clone_source] * 6)
    assert results == [git_dir / f"{owner.uuid}.git"] * 6
    assert len(list((git_dir / ".builds").iterdir())) == 1
    git_ok("--git-dir", str(results[0]), "fsck", home=tmp_path)


# --- the HTTP view, through Django's test client -----------------------------------------------------------------


def basic(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"leger:{token}".encode()).decode()}


def pkt_line(text: str) -> bytes:
    return b"%04x%s" % (len(text) + 4, text.encode())


def advertisement(owner: Owner) -> str:
    return f"/git/{owner.uuid}.git/info/refs?service=git-upload-pack"


@pytest.mark.django_db
class TestView:
    def test_it_asks_for_basic_credentials(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        for headers in ({}, basic("leg_not-a-token"), {"HTTP_AUTHORIZATION": "Bearer whatever"}):
            response = Client().get(advertisement(owner), **headers)
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == 'Basic realm="Leger releases"'
            assert b"leger CLI token" in response.content

    def test_it_serves_the_advertisement_to_the_owners_cli_token(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        response = Client().get(advertisement(owner), **basic(cli_token(owner.user)))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-git-upload-pack-advertisement"
        assert "no-store" in response["Cache-Control"]
        body = b"".join(response.streaming_content)
        assert expected_commits(three)[3].encode() + b" refs/heads/latest" in body

    def test_it_speaks_protocol_version_2_when_asked(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        response = Client().get(advertisement(owner), HTTP_GIT_PROTOCOL="version=2", **basic(cli_token(owner.user)))
        assert response.status_code == 200
        assert pkt_line("version 2\n") in b"".join(response.streaming_content)

    def test_it_accepts_the_owners_api_token_too(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        token = Token.objects.create(user=owner.user)
        response = Client().get(advertisement(owner), **basic(token.key))
        assert response.status_code == 200
        b"".join(response.streaming_content)

    def test_a_deactivated_users_token_is_refused(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        token = Token.objects.create(user=owner.user)
        User.objects.filter(pk=owner.user_id).update(is_active=False)
        assert Client().get(advertisement(owner), **basic(token.key)).status_code == 401

    def test_another_owners_token_finds_nothing(self, three: dict[int, Release], bob: User) -> None:
        owner = owner_of(three[1].owner)
        response = Client().get(advertisement(owner), **basic(cli_token(bob)))
        assert response.status_code == 404
        assert response.content == b"There is no release repository here.\n"

    def test_an_owner_who_published_nothing_is_told_so(self, alice: User) -> None:
        owner = Owner.objects.create(user=alice)
        response = Client().get(advertisement(owner), **basic(cli_token(alice)))
        assert response.status_code == 404
        assert b"has not published a release yet" in response.content

    def test_an_unpublished_version_is_not_found(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        address = f"/git/{owner.uuid}/v4.git/info/refs?service=git-upload-pack"
        response = Client().get(address, **basic(cli_token(owner.user)))
        assert response.status_code == 404
        assert b"no published release v4" in response.content

    def test_a_push_is_refused_as_read_only(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        token = cli_token(owner.user)
        client = Client()
        refs_response = client.get(f"/git/{owner.uuid}.git/info/refs?service=git-receive-pack", **basic(token))
        pack_response = client.post(
            f"/git/{owner.uuid}.git/git-receive-pack", b"0000", "application/x-git-receive-pack-request", **basic(token)
        )
        for response in (refs_response, pack_response):
            assert response.status_code == 403
            assert b"read-only" in response.content

    def test_it_serves_only_the_fetch_protocol(self, three: dict[int, Release]) -> None:
        owner = owner_of(three[1].owner)
        token = cli_token(owner.user)
        client = Client()
        assert client.get(f"/git/{owner.uuid}.git/info/refs", **basic(token)).status_code == 404
        assert client.get(f"/git/{owner.uuid}.git/config", **basic(token)).status_code == 404
        assert client.get(f"/git/{owner.uuid}.git/../../etc/passwd", **basic(token)).status_code == 404
        assert client.get(f"/git/{owner.uuid}.git/git-upload-pack", **basic(token)).status_code == 405
        head = client.get(f"/git/{owner.uuid}.git/HEAD", **basic(token))
        assert head.status_code == 200
        assert b"".join(head.streaming_content) == b"ref: refs/heads/latest\n"

    def test_it_reads_a_gzipped_fetch_request(self, three: dict[int, Release]) -> None:
        # git's client gzips larger fetch requests (many haves); http-backend inflates them when told so.
        owner = owner_of(three[1].owner)
        want = expected_commits(three)[1]
        request = pkt_line(f"want {want} ofs-delta\n") + pkt_line("deepen 1\n") + b"0000" + pkt_line("done\n")
        response = Client().post(
            f"/git/{owner.uuid}.git/git-upload-pack",
            gzip.compress(request),
            "application/x-git-upload-pack-request",
            HTTP_CONTENT_ENCODING="gzip",
            **basic(cli_token(owner.user)),
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-git-upload-pack-result"
        body = b"".join(response.streaming_content)
        assert pkt_line(f"shallow {want}") + b"0000" + pkt_line("NAK\n") + b"PACK" in body

    def test_it_reads_a_chunked_fetch_request(self, three: dict[int, Release]) -> None:
        # Above http.postBuffer git sends the body chunked, with no Content-Length; gunicorn de-chunks it and says
        # so with wsgi.input_terminated (Django alone would read 0 bytes of it).
        owner = owner_of(three[1].owner)
        want = expected_commits(three)[2]
        request = pkt_line(f"want {want} ofs-delta\n") + pkt_line("deepen 1\n") + b"0000" + pkt_line("done\n")
        response = Client().generic(
            "POST",
            f"/git/{owner.uuid}.git/git-upload-pack",
            CONTENT_TYPE="application/x-git-upload-pack-request",
            **{"wsgi.input": io.BytesIO(gzip.compress(request)), "wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
            HTTP_CONTENT_ENCODING="gzip",
            **basic(cli_token(owner.user)),
        )
        assert response.status_code == 200
        assert pkt_line(f"shallow {want}") + b"0000" + pkt_line("NAK\n") + b"PACK" in b"".join(
            response.streaming_content
        )

    def test_it_never_logs_the_token(self, three: dict[int, Release], caplog: pytest.LogCaptureFixture) -> None:
        owner = owner_of(three[1].owner)
        token = cli_token(owner.user)
        with caplog.at_level(logging.DEBUG):
            client = Client()
            for address in (advertisement(owner), f"/git/{owner.uuid}.git/nope", f"/git/{owner.uuid}/v9.git/HEAD"):
                response = client.get(address, **basic(token))
                if response.streaming:
                    b"".join(response.streaming_content)
            client.get(advertisement(owner), **basic(token + "x"))
        assert token not in caplog.text
        assert base64.b64encode(f"leger:{token}".encode()).decode() not in caplog.text


# --- real clones from a live server ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
class TestClone:
    def test_a_shallow_clone_holds_the_latest_release_byte_for_byte(
        self, three: dict[int, Release], live_server: Any, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        clone = tmp_path / "clone"
        git_ok("clone", "--depth", "1", url(live_server, owner, token=cli_token(owner.user)), str(clone), home=tmp_path)
        assert top_files(clone) == files_of(three[3])
        assert git_ok("rev-parse", "HEAD", cwd=clone, home=tmp_path).strip() == expected_commits(three)[3]
        assert git_ok("rev-list", "--count", "HEAD", cwd=clone, home=tmp_path).strip() == "1"

    def test_a_version_address_gives_that_version(
        self, three: dict[int, Release], live_server: Any, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        clone = tmp_path / "v1"
        address = url(live_server, owner, token=cli_token(owner.user), version=1)
        git_ok("clone", "--depth", "1", address, str(clone), home=tmp_path)
        assert top_files(clone) == files_of(three[1])
        assert git_ok("rev-parse", "HEAD", cwd=clone, home=tmp_path).strip() == expected_commits(three)[1]

    def test_ls_remote_lists_a_tag_per_version_and_the_latest_branch(
        self, three: dict[int, Release], live_server: Any, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        expected = expected_commits(three)
        listed = refs(git_ok("ls-remote", url(live_server, owner, token=cli_token(owner.user)), home=tmp_path))
        assert listed == {
            "HEAD": expected[3],
            "refs/heads/latest": expected[3],
            "refs/tags/v1": expected[1],
            "refs/tags/v2": expected[2],
            "refs/tags/v3": expected[3],
        }

    def test_a_rebuild_from_scratch_serves_the_same_commits(
        self, three: dict[int, Release], live_server: Any, git_dir: Path, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        address = url(live_server, owner, token=cli_token(owner.user))
        git_ok("clone", "--depth", "1", address, str(tmp_path / "before"), home=tmp_path)
        shutil.rmtree(git_dir)
        git_ok("clone", "--depth", "1", address, str(tmp_path / "after"), home=tmp_path)
        before = git_ok("rev-parse", "HEAD", "HEAD^{tree}", cwd=tmp_path / "before", home=tmp_path)
        assert git_ok("rev-parse", "HEAD", "HEAD^{tree}", cwd=tmp_path / "after", home=tmp_path) == before

    def test_after_a_rollback_latest_follows(self, three: dict[int, Release], live_server: Any, tmp_path: Path) -> None:
        owner = owner_of(three[1].owner)
        address = url(live_server, owner, token=cli_token(owner.user))
        git_ok("clone", "--depth", "1", address, str(tmp_path / "before"), home=tmp_path)
        roll_back(three[2], V3_AT + dt.timedelta(hours=1))
        git_ok("clone", "--depth", "1", address, str(tmp_path / "after"), home=tmp_path)
        assert top_files(tmp_path / "after") == files_of(three[2])
        assert refs(git_ok("ls-remote", address, home=tmp_path))["refs/heads/latest"] == expected_commits(three)[2]
        # A clone made before the rollback fetches it like any other move of a branch.
        git_ok(
            "fetch",
            "--depth",
            "1",
            "origin",
            "+latest:refs/remotes/origin/latest",
            cwd=tmp_path / "before",
            home=tmp_path,
        )
        git_ok("reset", "--hard", "origin/latest", cwd=tmp_path / "before", home=tmp_path)
        assert top_files(tmp_path / "before") == files_of(three[2])

    def test_without_credentials_git_is_refused(
        self, three: dict[int, Release], live_server: Any, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        anonymous = git(
            "clone", "--depth", "1", url(live_server, owner, token=None), str(tmp_path / "a"), home=tmp_path
        )
        assert anonymous.returncode != 0
        # Asked for a user name (401 with a Basic challenge), and prompts are off.
        assert "could not read Username" in anonymous.stderr
        wrong = git(
            "clone", "--depth", "1", url(live_server, owner, token="leg_wrong"), str(tmp_path / "w"), home=tmp_path
        )
        assert wrong.returncode != 0
        assert "Authentication failed" in wrong.stderr
        assert not (tmp_path / "a").exists() and not (tmp_path / "w").exists()

    def test_another_owners_token_finds_no_repository(
        self, three: dict[int, Release], bob: User, live_server: Any, tmp_path: Path
    ) -> None:
        owner = owner_of(three[1].owner)
        result = git(
            "clone", "--depth", "1", url(live_server, owner, token=cli_token(bob)), str(tmp_path / "b"), home=tmp_path
        )
        assert result.returncode != 0
        assert "not found" in result.stderr

    def test_a_push_is_refused(self, three: dict[int, Release], live_server: Any, tmp_path: Path) -> None:
        owner = owner_of(three[1].owner)
        clone = tmp_path / "clone"
        git_ok("clone", url(live_server, owner, token=cli_token(owner.user)), str(clone), home=tmp_path)
        (clone / "llm.network").write_text("[Network]\nNetworkName=mine\n")
        git_ok(
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=m@example.org",
            "commit",
            "-qam",
            "mine",
            cwd=clone,
            home=tmp_path,
        )
        result = git("push", "origin", "HEAD:latest", cwd=clone, home=tmp_path)
        assert result.returncode != 0
        assert "403" in result.stderr
        listed = refs(git_ok("ls-remote", "origin", cwd=clone, home=tmp_path))
        assert listed["refs/heads/latest"] == expected_commits(three)[3]

"""A stand-in for the Hugging Face Hub on 127.0.0.1: enough of its API for `huggingface_hub.snapshot_download`.

Endpoints, as huggingface_hub 2.x calls them:
  GET  /api/models/{repo}[/revision/{rev}]    repo info: `sha` and `siblings` (sizes, blob ids, LFS sha256)
  GET  /api/models/{repo}/tree/{rev}           the file listing snapshot_download caches per commit
  HEAD /{repo}/resolve/{rev}/{file}            X-Repo-Commit, ETag (git blob id) or X-Linked-Etag (LFS sha256),
  GET  /{repo}/resolve/{rev}/{file}            Content-Length; no X-Xet-* headers, so plain HTTP is used
Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) as the Hub sends them.
A gated repo answers its file URLs with 403 GatedRepo unless `Authorization: Bearer <token>` is the one given.
Every Authorization header received is recorded; `slow_files` serialises file bodies with a pause each, so
a download takes long enough for its progress to be seen.

And enough for `HfApi.create_repo` + `upload_folder` (`tokens` maps a token to its user; a user writes only
under its own name):
  POST /api/repos/create                       {name, organization, visibility}: 401 without a known token,
                                               403 in another's namespace, 409 when it exists
  POST /api/models/{repo}/preupload/{rev}      every file "regular": its bytes travel base64 in the commit (the
                                               Hub sends large and binary files through Xet storage instead,
                                               which this stand-in does not speak)
  POST /api/models/{repo}/commit/{rev}         the NDJSON commit: `file` and `deletedFile` lines
  POST /api/validate-yaml                      a README's front matter: 400 unless it is a YAML mapping
A private repo is invisible (404) to everyone but its owner, as on the Hub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

LFS_SUFFIXES = (".safetensors", ".bin")


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str
    branches: tuple[str, ...] = ("main",)
    gated_token: str | None = None
    """When set, the repo is gated: its files need `Authorization: Bearer <gated_token>`."""
    private: bool = False
    commits: list[str] = field(default_factory=list)
    """The summary line of every commit pushed to it."""

    def sibling(self, name: str) -> dict:
        data = self.files[name]
        entry = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
        if name.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
        return entry

    def tree_entry(self, name: str) -> dict:
        s = self.sibling(name)
        entry = {"type": "file", "path": name, "size": s["size"], "oid": s["blobId"]}
        if "lfs" in s:
            entry["lfs"] = {"oid": s["lfs"]["sha256"], "size": s["size"], "pointerSize": 134}
        return entry


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def model_repo(folder: Path, extra: dict[str, bytes] | None = None, commit_seed: str = "") -> Repo:
    """A repo holding a model folder's files (plus `extra`), at a commit derived from their content."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    files.update(extra or {})
    digest = hashlib.sha1(commit_seed.encode() + b"".join(git_blob_id(v).encode() for v in files.values()))
    return Repo(files, digest.hexdigest())


@dataclass
class HubState:
    repos: dict[str, Repo] = field(default_factory=dict)
    authorizations: list[str | None] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    slow_files: float = 0.0
    tokens: dict[str, str] = field(default_factory=dict)
    """Token -> user name, for the write endpoints."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: pytest shows failures, not access logs
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_POST(self) -> None:
        st = self.state
        st.authorizations.append(self.headers.get("Authorization"))
        path = unquote(urlparse(self.path).path)
        st.requests.append(f"POST {path}")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = path.strip("/").split("/")
        if parts == ["api", "validate-yaml"]:
            return self._validate_yaml(json.loads(body)["content"])
        user = st.tokens.get((self.headers.get("Authorization") or "").removeprefix("Bearer "))
        if user is None:
            return self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
        if parts == ["api", "repos", "create"]:
            return self._create(json.loads(body), user)
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("preupload", "commit"):
            repo_id = parts[2] + "/" + parts[3]
            repo = st.repos.get(repo_id)
            if repo is None or (repo.private and parts[2] != user):
                return self._error(404, "RepoNotFound", "Repository not found")
            if parts[2] != user:
                return self._error(403, "Forbidden", f"You don't have the rights to write to {repo_id}")
            if parts[4] == "preupload":
                files = json.loads(body)["files"]
                return self._json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                             for f in files], "commitOid": repo.commit})
            return self._commit(repo_id, repo, body)
        self._error(404, "EntryNotFound")

    def _validate_yaml(self, content: str) -> None:
        """A README's front matter must be a YAML mapping; the Hub answers 400 with the errors otherwise."""
        import yaml

        head = content.split("---")[1] if content.startswith("---") else ""
        try:
            valid = isinstance(yaml.safe_load(head), dict)
        except yaml.YAMLError:
            valid = False
        if valid:
            return self._json({"errors": [], "warnings": []})
        self.state.requests.append("invalid YAML front matter")
        data = json.dumps({"errors": [{"message": "the front matter is not a YAML mapping"}]}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _create(self, request: dict, user: str) -> None:
        owner, name = request.get("organization") or user, request["name"]
        repo_id = f"{owner}/{name}"
        if owner != user:
            return self._error(403, "Forbidden", f"You don't have the rights to create a model under the namespace "
                                                 f"\"{owner}\"")
        if repo_id in self.state.repos:
            return self._error(409, "Conflict", "You already created this model repo")
        private = request.get("visibility", "private" if request.get("private") else "public") == "private"
        self.state.repos[repo_id] = Repo({}, git_blob_id(repo_id.encode()), private=private)
        self._json({"url": f"http://{self.headers['Host']}/{repo_id}", "name": repo_id})

    def _commit(self, repo_id: str, repo: Repo, body: bytes) -> None:
        for line in body.decode().splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                repo.commits.append(value["summary"])
            elif item["key"] == "file":
                repo.files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                repo.files.pop(value["path"], None)
            else:
                return self._error(400, "BadRequest", f"this stand-in does not take `{item['key']}` lines")
        repo.commit = hashlib.sha1(repo.commit.encode() + body).hexdigest()
        self._json({"commitUrl": f"http://{self.headers['Host']}/{repo_id}/commit/{repo.commit}",
                    "commitOid": repo.commit})

    def _serve(self, body: bool) -> None:
        st = self.state
        st.authorizations.append(self.headers.get("Authorization"))
        path = unquote(urlparse(self.path).path)
        st.requests.append(f"{self.command} {path}")
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            return self._api(parts[2] + "/" + parts[3], parts[4:])
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._file(parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]), body)
        self._error(404, "EntryNotFound")

    def _repo(self, repo_id: str, revision: str) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if repo is None or (repo.private and self.state.tokens.get(token) != repo_id.split("/")[0]):
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if revision not in repo.branches and revision != repo.commit:
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return None
        return repo

    def _api(self, repo_id: str, rest: list[str]) -> None:
        revision = rest[1] if len(rest) >= 2 and rest[0] in ("revision", "tree") else "main"
        repo = self._repo(repo_id, revision)
        if repo is None:
            return
        if rest[:1] == ["tree"]:
            return self._json([repo.tree_entry(name) for name in repo.files])
        self._json({"id": repo_id, "modelId": repo_id, "sha": repo.commit, "private": repo.private,
                    "gated": "manual" if repo.gated_token else False,
                    "siblings": [repo.sibling(name) for name in repo.files]})

    def _file(self, repo_id: str, revision: str, name: str, body: bool) -> None:
        repo = self._repo(repo_id, revision)
        if repo is None:
            return
        if repo.gated_token and self.headers.get("Authorization") != f"Bearer {repo.gated_token}":
            return self._error(403, "GatedRepo", "Access to this model is restricted", commit=repo.commit)
        if name not in repo.files:
            return self._error(404, "EntryNotFound", "Entry not found", commit=repo.commit)
        data = repo.files[name]
        sibling = repo.sibling(name)
        self.send_response(200)
        self.send_header("X-Repo-Commit", repo.commit)
        if "lfs" in sibling:
            self.send_header("X-Linked-Etag", f'"{sibling["lfs"]["sha256"]}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("ETag", f'"{sibling["lfs"]["sha256"]}"')
        else:
            self.send_header("ETag", f'"{sibling["blobId"]}"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            if self.state.slow_files:
                with self.state.lock:
                    time.sleep(self.state.slow_files)
                    self.wfile.write(data)
            else:
                self.wfile.write(data)

    def _json(self, value) -> None:
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str = "", commit: str | None = None) -> None:
        data = json.dumps({"error": message or code}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        if message:
            self.send_header("X-Error-Message", message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class FakeHub:
    """`with FakeHub(repos) as hub:` serves on http://127.0.0.1:<random port> (hub.endpoint) until the block ends."""

    def __init__(self, repos: dict[str, Repo]):
        self.state = HubState(repos=dict(repos))
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

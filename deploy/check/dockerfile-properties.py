#!/usr/bin/env python3
"""The properties deploy/Dockerfile promises (issue 33), checked without a
container engine:

- the build context (the repository, through .dockerignore) leaves out
  target/ and .git and keeps every file the build needs, and is small;
- a dependency layer (the manifests and Cargo.lock, then a cargo build or
  fetch) precedes `COPY . .` in the build stage;
- the final stage carries no Rust toolchain: another base image, and only
  the binary copied from the build;
- its USER is not root;
- a VOLUME covers the folder of the default SQLite database
  (ENV AUTH_DATABASE_URL), so that recreating the container keeps it;
- its HEALTHCHECK asks liveness: run as written (`auth-server` being the
  binary given) against a stand-in server whose /healthz answers 200 and
  /readyz 503, as the real one does during a database outage, it must
  succeed; with nothing listening it must fail.

    dockerfile-properties.py --dockerfile FILE --context DIR --binary BIN

Prints one line per check; exits 1 when any fails.
"""

import argparse
import http.server
import json
import os
import posixpath
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import tomllib

problems = []


def ok(msg):
    print(f"ok: {msg}")


def problem(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    problems.append(msg)


# ---- the Dockerfile


def instructions(path):
    """(keyword, arguments, line number) of each instruction: comment lines
    dropped, continuation lines joined (as the builder does)."""
    out = []
    current, start = "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if not current:
                if not line.strip():
                    continue
                start = n
            if line.rstrip().endswith("\\"):
                current += line.rstrip()[:-1] + " "
                continue
            current += line
            keyword, _, rest = current.strip().partition(" ")
            out.append((keyword.upper(), rest.strip(), start))
            current = ""
    if current.strip():
        keyword, _, rest = current.strip().partition(" ")
        out.append((keyword.upper(), rest.strip(), start))
    return out


def stages(instrs):
    """[{image, name, instrs}] in order."""
    result = []
    for keyword, rest, n in instrs:
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            image = words[0] if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            result.append({"image": image, "name": name, "instrs": [], "line": n})
        elif result:
            result[-1]["instrs"].append((keyword, rest, n))
    return result


def split_options(rest):
    """(options {name: value}, remaining words) of COPY/ADD/HEALTHCHECK."""
    words = rest.split()
    opts = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        opts[name] = value
    return opts, words


def json_or_words(text):
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text), True
        except json.JSONDecodeError:
            pass
    return text.split(), False


def copy_parts(rest):
    opts, words = split_options(rest)
    items, _ = json_or_words(" ".join(words))
    return opts, items[:-1], (items[-1] if items else "")


def env_of(stage):
    env = {}
    for keyword, rest, _ in stage["instrs"]:
        if keyword != "ENV":
            continue
        words = shlex.split(rest)
        if words and "=" not in words[0]:
            env[words[0]] = rest.split(None, 1)[1] if len(words) > 1 else ""
            continue
        for w in words:
            key, _, value = w.partition("=")
            env[key] = value
    return env


# ---- .dockerignore (the builder's rules: Go's filepath.Match with `**`,
# a pattern also matching every path under a folder it matches, `!`
# exceptions, the last matching pattern deciding)


def ignore_patterns(context):
    patterns = []
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = posixpath.normpath(line).lstrip("/")
            patterns.append((negate, re.compile(glob_regex(line))))
    return patterns


def glob_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape("[")
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out += "[" + body.replace("\\", "\\\\") + "]"
                i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
        else:
            out += re.escape(pattern[i])
            i += 1
    return "^" + out + "$"


def excluded(patterns, rel):
    parts = rel.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for negate, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            result = not negate
    return result


def check_context(context, members):
    patterns = ignore_patterns(context)
    if patterns is None:
        problem(f"no .dockerignore in the build context {context}: target/ and .git go to the builder")
        patterns = []
    else:
        ok(".dockerignore found")
    kept = [p for p in ("target/release/auth-server", ".git/HEAD", "tests/browser/node_modules/x.js", "auth.db", "outbox/1.eml") if not excluded(patterns, p)]
    if kept:
        problem(f"the build context takes in {', '.join(kept)}: .dockerignore must leave out target/, .git, node_modules, databases and outboxes")
    else:
        ok(".dockerignore leaves out target/, .git, node_modules, databases and outboxes")
    # Every tracked file of the workspace's members, the migrations and
    # the root manifests must reach the build.
    needed = ["Cargo.toml", "Cargo.lock"]
    try:
        tracked = subprocess.run(["git", "-C", context, "ls-files"], capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        tracked = []
    roots = tuple(m.rstrip("/") + "/" for m in members) + ("migrations/",)
    needed += [t for t in tracked if t.startswith(roots)]
    missing = [p for p in needed if excluded(patterns, p)]
    if missing:
        problem(f".dockerignore leaves out files the build needs: {', '.join(missing[:5])}")
    else:
        ok(f".dockerignore keeps the {len(needed)} files the build needs (the members' and the migrations' tracked files, the root manifests)")
    # What the builder would receive.
    prune = not any(negate for negate, _ in patterns)
    files, size = 0, 0
    limit = 200 << 20
    for root, dirs, names in os.walk(context):
        if size > limit:
            break
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root + "/"
        if prune:
            dirs[:] = [d for d in dirs if not excluded(patterns, rel_root + d)]
        for name in names:
            rel = rel_root + name
            if excluded(patterns, rel):
                continue
            try:
                size += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            files += 1
    if size > limit:
        problem(f"the build context is over {limit >> 20} MiB ({files} files counted before stopping): .dockerignore misses something large")
    else:
        ok(f"the build context is {size / 2**20:.1f} MiB in {files} files")


# ---- the stages


def check_build(stage_list, members, context):
    final = stage_list[-1]
    builders = [s for s in stage_list[:-1] if any(k == "RUN" and "cargo build" in r for k, r, _ in s["instrs"])]
    if not builders:
        problem("no build stage (a stage before the last that runs cargo build)")
        return
    build = builders[-1]
    instrs = build["instrs"]
    copy_all = next((i for i, (k, r, _) in enumerate(instrs) if k in ("COPY", "ADD") and "from" not in split_options(r)[0] and "." in copy_parts(r)[1]), None)
    if copy_all is None:
        problem("the build stage has no `COPY . .`; this check expects the sources to come in that way after the dependencies")
        return
    before = instrs[:copy_all]
    copied = set()
    for k, r, _ in before:
        if k in ("COPY", "ADD"):
            _, sources, _ = copy_parts(r)
            copied.update(posixpath.normpath(s) for s in sources)
    wanted = ["Cargo.toml", "Cargo.lock"] + [posixpath.join(m, "Cargo.toml") for m in members]
    absent = [w for w in wanted if w not in copied and posixpath.dirname(w) not in copied]
    deps = [(r, n) for k, r, n in before if k == "RUN" and re.search(r"cargo (build|fetch|chef cook)", r)]
    final_build = next((r for k, r, _ in reversed(instrs) if k == "RUN" and "cargo build" in r), "")
    if absent:
        problem(f"before `COPY . .` (line {instrs[copy_all][2]}) the build stage does not copy {', '.join(absent)}: no dependency layer, or one that a new workspace member breaks")
    elif not deps:
        problem(f"no `cargo build`/`cargo fetch` of the dependencies before `COPY . .` (line {instrs[copy_all][2]}): every source change rebuilds them")
    elif "--release" in final_build and "cargo build" in deps[-1][0] and "--release" not in deps[-1][0]:
        problem(f"the dependency build (line {deps[-1][1]}) is not --release like the final build: its artefacts are never reused")
    else:
        ok(f"dependency layer: the manifests of the {len(members)} workspace members and Cargo.lock, then cargo (line {deps[-1][1]}), before `COPY . .` (line {instrs[copy_all][2]})")
    # Stubs that the sources do not replace would stay in the build.
    if any("src/lib.rs" in r for r, _ in deps):
        lacking = [m for m in members if not os.path.exists(os.path.join(context, m, "src", "lib.rs"))]
        if lacking:
            problem(f"the dependency layer stubs src/lib.rs for every member, but {', '.join(lacking)} has none: the empty stub would stay a library")

    # The final stage: another base, the binary alone.
    aliases = {s["name"]: s for s in stage_list if s["name"]}
    base = final["image"]
    while base in aliases:
        base = aliases[base]["image"]
    if re.search(r"(^|/)rust(lang)?([:@]|$)|cargo", base) or final["image"] == build["name"]:
        problem(f"the final stage is based on {final['image']} ({base}): it carries the Rust toolchain")
    bad = []
    for k, r, n in final["instrs"]:
        if k == "COPY" and "from" in split_options(r)[0]:
            _, sources, _ = copy_parts(r)
            bad += [f"{s} (line {n})" for s in sources if posixpath.normpath(s) in ("/", ".", "/src", "/usr/local") or s.startswith(("/usr/local/cargo", "/usr/local/rustup"))]
        if k == "RUN" and re.search(r"rustup|\brustc\b|\bcargo\b", r):
            bad.append(f"RUN installing Rust (line {n})")
    if bad:
        problem(f"the final stage takes the toolchain or the whole build along: {', '.join(bad)}")
    elif not re.search(r"(^|/)rust(lang)?([:@]|$)|cargo", base):
        ok(f"final stage on {base}, without the toolchain (the binary copied alone)")


def check_user(final):
    users = [r for k, r, _ in final["instrs"] if k == "USER"]
    user = users[-1].split(":")[0].strip() if users else "root"
    if user in ("root", "0", ""):
        problem(f"the final stage runs as root (USER {users[-1] if users else 'absent'})")
    else:
        ok(f"USER {users[-1]}: not root")


def check_volume(final):
    env = env_of(final)
    url = env.get("AUTH_DATABASE_URL", "")
    m = re.match(r"sqlite:(?://)?(.*)$", url)
    if not m:
        problem(f"no default SQLite database in ENV AUTH_DATABASE_URL ({url or 'unset'}): this check reads the folder to keep from it")
        return
    path = m.group(1).split("?")[0]
    if not path.startswith("/"):
        workdirs = [r for k, r, _ in final["instrs"] if k == "WORKDIR"]
        path = posixpath.join(workdirs[-1] if workdirs else "/", path)
    folder = posixpath.dirname(posixpath.normpath(path))
    volumes = []
    for k, r, _ in final["instrs"]:
        if k == "VOLUME":
            items, _ = json_or_words(r)
            volumes += [posixpath.normpath(v) for v in items]
    covering = [v for v in volumes if folder == v or folder.startswith(v.rstrip("/") + "/")]
    if covering:
        ok(f"VOLUME {covering[0]} holds the default SQLite database {path}")
    else:
        problem(f"no VOLUME covers {folder}, the folder of the default database {path}: recreating the container loses users and keys")


class StandIn(http.server.BaseHTTPRequestHandler):
    """auth-server during a database outage: alive, not ready."""

    asked = []

    def do_GET(self):
        StandIn.asked.append(self.path)
        if self.path == "/healthz":
            status, body = 200, {"status": "ok"}
        elif self.path == "/readyz":
            status, body = 503, {"status": "unavailable"}
        else:
            status, body = 404, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def check_healthcheck(final, binary):
    checks = [r for k, r, _ in final["instrs"] if k == "HEALTHCHECK"]
    if not checks:
        problem("no HEALTHCHECK in the final stage")
        return
    opts, words = split_options(checks[-1])
    if not words or words[0].upper() != "CMD":
        problem(f"HEALTHCHECK {checks[-1]}: no CMD")
        return
    cmd_text = checks[-1].split("CMD", 1)[1].strip()
    argv, exec_form = json_or_words(cmd_text)
    if not exec_form:
        argv = ["/bin/sh", "-c", cmd_text]
    if "/readyz" in cmd_text:
        problem(f"HEALTHCHECK asks /readyz ({cmd_text}): the container turns unhealthy during a database outage")
    if not binary:
        problem("no auth-server binary to run the HEALTHCHECK with")
        return
    with tempfile.TemporaryDirectory(prefix="auth-healthcheck.") as tmp:
        os.symlink(binary, os.path.join(tmp, "auth-server"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
        port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        # The image's environment, with AUTH_BIND on the stand-in and the
        # database in the temporary folder (the healthcheck opens none).
        env = {"PATH": f"{tmp}:/usr/local/bin:/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}
        env.update(env_of(final))
        env["AUTH_BIND"] = f"127.0.0.1:{port}"
        env["AUTH_DATABASE_URL"] = f"sqlite://{tmp}/auth.db"

        def run():
            try:
                return subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired) as e:
                return subprocess.CompletedProcess(argv, 127, "", str(e))

        during_outage = run()
        server.shutdown()
        server.server_close()
        nothing = run()
    shown = " ".join(argv)
    if during_outage.returncode != 0:
        problem(
            f"HEALTHCHECK `{shown}` fails (status {during_outage.returncode}) against a server whose database is down "
            f"(/healthz 200, /readyz 503; it asked {', '.join(StandIn.asked) or 'nothing'}): "
            f"the container turns unhealthy during a database outage. {during_outage.stderr.strip()[:200]}"
        )
    else:
        ok(f"HEALTHCHECK `{shown}` succeeds while /readyz answers 503 (it asked {', '.join(StandIn.asked)})")
    if nothing.returncode == 0:
        problem(f"HEALTHCHECK `{shown}` succeeds with no server listening: it checks nothing")
    else:
        ok(f"HEALTHCHECK `{shown}` fails with no server listening (status {nothing.returncode})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--context", required=True)
    ap.add_argument("--binary")
    args = ap.parse_args()
    with open(os.path.join(args.context, "Cargo.toml"), "rb") as f:
        members = tomllib.load(f)["workspace"]["members"]
    stage_list = stages(instructions(args.dockerfile))
    if len(stage_list) < 2:
        problem(f"{args.dockerfile}: one stage only; the toolchain would ship in the image")
        return 1
    check_context(args.context, members)
    check_build(stage_list, members, args.context)
    check_user(stage_list[-1])
    check_volume(stage_list[-1])
    check_healthcheck(stage_list[-1], args.binary)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

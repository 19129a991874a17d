#!/usr/bin/env python3
"""Run a command under the system-call filter of a systemd unit.

    seccomp-run.py [--kill] [--unit FILE] [--user NAME] -- COMMAND [ARG...]
    seccomp-run.py [--unit FILE] --list

Reads the `SystemCallFilter=` and `SystemCallErrorNumber=` lines of the
unit's [Service] section, expands the `@sets` with `systemd-analyze
syscall-filter` (the sets of the systemd installed here), combines the
lines the way systemd does, loads the filter with libseccomp (ctypes over
libseccomp.so.2, no Python module needed) and executes COMMAND under it.
For machines without systemd as init, e.g. CI (deploy/check/unit.sh).

systemd's rules, as in its config_parse_syscall_filter():
- the first line decides the mode: without `~` it starts an allow-list
  (seeded with @default), with `~` a deny-list;
- in an allow-list, a plain line adds and a `~` line removes; in a
  deny-list, a `~` line adds to what is denied and a plain line removes;
- an empty `SystemCallFilter=` resets everything;
- names libseccomp does not know, or that do not exist on this
  architecture, are skipped.
Denied calls get SCMP_ACT_KILL_PROCESS (SIGSYS, as systemd does without
SystemCallErrorNumber=), or SCMP_ACT_ERRNO(n) with
`SystemCallErrorNumber=` (`kill` and `log` are accepted too). `--kill`
forces SCMP_ACT_KILL_PROCESS so a test proves the command never makes a
call outside the list (one that EPERM would hide). `name:ERRNO` in a `~`
line of a deny-list uses that errno for that call, as systemd does.

`--user NAME` (as root) switches to that user and its group first, as
systemd does for User=/Group= before it loads the filter: what a program
calls can depend on it (SQLite fchown()s its journal only as root).

Only SystemCallFilter=/SystemCallErrorNumber= are emulated, not the other
seccomp-based directives (RestrictAddressFamilies=, MemoryDenyWriteExecute=,
...). The filter covers the native architecture, as
SystemCallArchitectures=native; libseccomp sets no_new_privs, as the
unit's NoNewPrivileges=true does.
"""

import argparse
import ctypes
import ctypes.util
import errno
import os
import pwd
import shutil
import subprocess
import sys

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000


def SCMP_ACT_ERRNO(n):
    return 0x00050000 | (n & 0x0000FFFF)


def die(msg):
    print(f"seccomp-run: {msg}", file=sys.stderr)
    sys.exit(125)


def unit_lines(path):
    """(key, value) of the [Service] section, continuations joined."""
    out, section, pending = [], None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if pending:
                line = pending + " " + line.strip()
                pending = ""
            elif line.lstrip().startswith(("#", ";")):
                continue
            if line.endswith("\\"):
                pending = line[:-1]
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            if section == "Service" and "=" in line:
                key, value = line.split("=", 1)
                out.append((key.strip(), value.strip()))
    return out


def syscall_sets():
    """{'@name': [member, ...]} from `systemd-analyze syscall-filter`."""
    exe = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    try:
        text = subprocess.run(
            [exe, "syscall-filter"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot list the syscall sets with systemd-analyze: {e}")
    sets, current = {}, None
    for line in text.splitlines():
        if line.startswith("@"):
            current = sets.setdefault(line.split()[0], [])
        elif not line[:1].isspace() or not line.strip():
            current = None  # a blank line or a top-level comment ends a set
        elif current is not None and not line.lstrip().startswith("#"):
            current.append(line.split()[0])
    if "@default" not in sets or "@system-service" not in sets:
        die("systemd-analyze syscall-filter listed no @default/@system-service")
    return sets


def expand(name, sets, seen=None):
    """Syscall names of `name` (a syscall or an @set, nested sets expanded)."""
    if not name.startswith("@"):
        return [name]
    if name not in sets:
        die(f"unknown syscall set {name}")
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    out = []
    for member in sets[name]:
        out.extend(expand(member, sets, seen))
    return out


def parse_errno(value):
    v = value.strip()
    if v.isdigit():
        return int(v)
    if hasattr(errno, v):
        return getattr(errno, v)
    die(f"unknown errno {v!r}")


def build(unit):
    """(allow_list, {name: errno or None}, default errno/'kill'/'log')."""
    sets = None
    allow_list, names, error_number = None, {}, "kill"
    for key, value in unit_lines(unit):
        if key == "SystemCallErrorNumber":
            if value in ("", "kill"):
                error_number = "kill"
            elif value == "log":
                error_number = "log"
            else:
                error_number = parse_errno(value)
            continue
        if key != "SystemCallFilter":
            continue
        if not value:
            allow_list, names = None, {}
            continue
        sets = sets or syscall_sets()
        invert = value.startswith("~")
        if invert:
            value = value[1:]
        if allow_list is None:
            allow_list = not invert
            if allow_list:
                names.update((n, None) for n in expand("@default", sets))
        add = invert != allow_list
        for item in value.split():
            item, _, num = item.partition(":")
            num = parse_errno(num) if num else None
            if num is not None and allow_list:
                die(f"{item}:{num}: an error number only goes with a denied call")
            for n in expand(item, sets):
                if add:
                    names[n] = num
                else:
                    names.pop(n, None)
    if allow_list is None:
        die(f"{unit} has no SystemCallFilter= line")
    return allow_list, names, error_number


def load_filter(allow_list, names, default_errno):
    path = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(path, use_errno=True)
    except OSError as e:
        die(f"cannot load libseccomp ({path}): {e}")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_exact_array.restype = ctypes.c_int
    lib.seccomp_rule_add_exact_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p,
    ]
    lib.seccomp_load.restype = ctypes.c_int
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    if default_errno == "kill":
        negative = SCMP_ACT_KILL_PROCESS
    elif default_errno == "log":
        negative = SCMP_ACT_LOG
    else:
        negative = SCMP_ACT_ERRNO(default_errno)
    ctx = lib.seccomp_init(negative if allow_list else SCMP_ACT_ALLOW)
    if not ctx:
        die("seccomp_init failed")
    for name, num in sorted(names.items()):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            # Unknown to libseccomp, or not a call of this architecture
            # (e.g. arm_fadvise64_64 on x86-64): systemd skips these too.
            continue
        if allow_list:
            action = SCMP_ACT_ALLOW
        else:
            action = SCMP_ACT_ERRNO(num) if num is not None else negative
        r = lib.seccomp_rule_add_exact_array(ctx, action, nr, 0, None)
        if r < 0 and r != -errno.EDOM:
            die(f"seccomp_rule_add({name}) failed: {os.strerror(-r)}")
    r = lib.seccomp_load(ctx)
    if r < 0:
        die(f"seccomp_load failed: {os.strerror(-r)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--unit", default="deploy/auth-server.service",
                   help="the unit file (default: %(default)s)")
    p.add_argument("--kill", action="store_true",
                   help="kill the process (SIGSYS) on a denied call whatever SystemCallErrorNumber= says")
    p.add_argument("--user",
                   help="as root: run as this user (and its group), like the unit's User=")
    p.add_argument("--list", action="store_true",
                   help="print the resulting mode and call list and exit")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- COMMAND [ARG...]")
    a = p.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command

    allow_list, names, error_number = build(a.unit)
    if a.kill:
        error_number = "kill"
    if a.list:
        mode = "allow" if allow_list else "deny"
        if isinstance(error_number, int):
            denied = f"errno {error_number} ({errno.errorcode.get(error_number, '?')})"
        else:
            denied = error_number
        lines = [f"# {a.unit}: {mode}-list; a denied call: {denied}"]
        lines += [n if names[n] is None else f"{n}:{names[n]}" for n in sorted(names)]
        try:
            print("\n".join(lines))
        except BrokenPipeError:
            pass
        return
    if not command:
        p.error("no command given after --")
    exe = command[0] if "/" in command[0] else shutil.which(command[0])
    if not exe:
        die(f"{command[0]}: not found")
    if a.user:
        try:
            pw = pwd.getpwnam(a.user)
        except KeyError:
            die(f"no user {a.user!r}")
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    sys.stdout.flush()
    sys.stderr.flush()
    load_filter(allow_list, names, error_number)
    os.execv(exe, command)


if __name__ == "__main__":
    main()

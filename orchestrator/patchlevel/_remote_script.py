"""The one POSIX sh script that upgrades a Linux installation from a staging directory.

Pure: a list of :class:`Op` (the net effect of levels current+1..N, the customizations and
the new state file) in, script text out. Every path and message goes through
:func:`sh_quote`; staged files are named by index. The script backs up each file before it
replaces or deletes it (``cp -p`` into ``<backup>/files/<k>``), writes a temporary file in
the target's folder, sets mode and mtime, and renames it over the target (``mv``). On any
failure it restores the backups, deletes the files and folders it created, puts the folders'
times back, and exits 1 (2 if the rollback itself failed). Output: one ``R k`` / ``A k`` /
``X k`` line per file replaced, added, removed.
"""

from __future__ import annotations

from ..transports._quote import sh_quote as q
from ._remote_ops import Op, Undo

__all__ = ["Op", "folders_of", "log_lines", "recovery_script", "upgrade_script"]


def folders_of(ops: list[Op]) -> list[str]:
    """Every folder the ops touch (and their ancestors), parents first; ``""`` = root."""
    found: set[str] = {""}
    for op in ops:
        parts = op.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            found.add("/".join(parts[:i]))
    return sorted(found, key=lambda d: (d.count("/") + bool(d), d))


def log_lines(install: str, lines: list[str]) -> str:
    """Append ready-made ``install.log`` lines."""
    if not lines:
        return ""
    words = " ".join(q(line) for line in lines)
    return f"printf '%s\\n' {words} >> {q(install + '/install.log')}\n"


def upgrade_script(
    install: str,
    staging: str,
    backup: str,
    ops: list[Op],
    pre_log: list[str],
    start: int,
    lock: tuple[str, str],
) -> str:
    """The whole upgrade as one script (see the module doc); ``lock`` is (the lock file, the
    upgrade's id)."""
    root = install.rstrip("/") or "/"

    def full(rel: str) -> str:
        return q(path(rel))

    def path(rel: str) -> str:
        return f"{root}/{rel}" if rel else root

    dirs = folders_of(ops)
    index = {d: j for j, d in enumerate(dirs)}
    out = [
        "set -u\numask 022\n",
        f"S={q(staging)}\nB={q(backup)}\nL={q(root + '/install.log')}\n",
        "trap 'rm -rf -- \"$S\"' EXIT\n",
        'log() { printf \'%s %s\\n\' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >> "$L"; }\n',
        'restore() { cp -p -- "$1" "$2.orch-restore" && mv -f -- "$2.orch-restore" "$2"; }\n',
        "rb=ok\nrollback() {\n  :\n",
    ]
    for k in reversed(range(len(ops))):
        op, p = ops[k], full(ops[k].path)
        if op.kind == "write":
            out.append(
                f'  if [ "${{st_{k}:-0}}" = 1 ]; then if [ "${{ex_{k}:-0}}" = 1 ]; then '
                f'restore "$B/files/{k}" {p} || rb=bad; else rm -f -- {p} || rb=bad; fi; fi\n'
            )
        else:
            out.append(
                f'  if [ "${{st_{k}:-0}}" = 1 ]; then restore "$B/files/{k}" {p} || rb=bad; fi\n'
            )
    for d in reversed(dirs):
        j = index[d]
        out.append(f'  if [ "${{mk_{j}:-0}}" = 1 ]; then rmdir -- {full(d)} || rb=bad; fi\n')
    for d in reversed(dirs):
        j = index[d]
        out.append(
            f'  if [ -e "$B/dirs/{j}" ]; then touch -r "$B/dirs/{j}" -- {full(d)} || rb=bad; fi\n'
        )
    out.append("}\n")
    out.append(
        "fail() {\n"
        f'  log "failed: $1; rolling back to patch level {start}"\n'
        "  rollback\n"
        '  if [ "$rb" = ok ]; then\n'
        f'    log "rolled back: every file restored; patch level {start} kept"\n'
        '    rm -f -- "$K"\n'
        "    printf '%s\\n' \"$1\" >&2; exit 1\n"
        "  fi\n"
        '  log "rollback failed: backups kept in $B"\n'
        '  printf \'%s (and the rollback failed: backups in %s)\\n\' "$1" "$B" >&2; exit 2\n'
        "}\n"
    )
    out.append('mkdir -p -- "$B/files" "$B/dirs" || { echo "cannot create $B" >&2; exit 3; }\n')
    out.append(
        f"K={q(lock[0])}\n"
        f'if ! (set -C; printf \'%s %s\\n\' {q(lock[1])} "$$" > "$K") 2>/dev/null; then\n'
        "  printf 'an upgrade is in progress or was interrupted (%s exists)\\n' \"$K\" >&2\n"
        "  exit 3\n"
        "fi\n"
    )
    out.append(log_lines(root, pre_log))
    out.append('log "backup of replaced files: $B"\n')
    for d in dirs:
        j, dq = index[d], full(d)
        msg = q(f"cannot record the time of folder {d or root}")
        out.append(f'if [ -d {dq} ]; then touch -r {dq} -- "$B/dirs/{j}" || fail {msg}; fi\n')
    out.append(": > \"$B/dirs/recorded\" || fail 'cannot record the folders'\n")
    for k, op in enumerate(ops):
        out.append(_op(k, op, path(op.path), [(index[d], full(d)) for d in _parents(op.path)]))
    out.append('rm -f -- "$K"\nexit 0\n')
    return "".join(out)


def _backup(k: int, p: str) -> str:
    """Copy ``p`` to ``$B/files/k`` so that the name appears only once the copy is whole."""
    return f'{{ cp -p -- {p} "$B/files/{k}.part" && mv -f -- "$B/files/{k}.part" "$B/files/{k}"; }}'


def recovery_script(
    install: str,
    backup: str,
    lock: str,
    ops: list[Undo],
    folders: list[str],
    start: int,
    staging: str,
) -> str:
    """Undo an upgrade that died on the host (a crash, a kill, a lost machine) from what it
    left in ``backup``: every file with a whole backup gets it back; a file that did not exist
    before is deleted; temporary files go; folders it made (not recorded in ``dirs/``) are
    removed when empty, the others get their times back; its ``staging`` folder goes. Exit 0
    and the lock removed, or 2 (the lock kept)."""
    root = install.rstrip("/") or "/"

    def full(rel: str) -> str:
        return q(f"{root}/{rel}" if rel else root)

    out = [
        "set -u\n",
        f"B={q(backup)}\nK={q(lock)}\nL={q(root + '/install.log')}\n",
        'log() { printf \'%s %s\\n\' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >> "$L"; }\n',
        'restore() { cp -p -- "$1" "$2.orch-restore" && mv -f -- "$2.orch-restore" "$2"; }\n',
        "rb=ok\n",
        f"rm -rf -- {q(staging)}\n",
    ]
    for u in reversed(ops):
        p, saved = full(u.path), f'"$B/files/{u.k}"'
        tmp = f"{q(f'{root}/{u.path}.orch-new')} {q(f'{root}/{u.path}.orch-restore')}"
        if u.kind == "remove":
            out.append(
                f"if [ -f {saved} ] && [ ! -e {p} ]; then restore {saved} {p} || rb=bad; fi\n"
            )
        elif u.existed:
            out.append(f"if [ -f {saved} ]; then restore {saved} {p} || rb=bad; fi\n")
        else:
            out.append(f"rm -f -- {p} || rb=bad\n")
        out.append(f"rm -f -- {tmp}\n")
    out.append('if [ -e "$B/dirs/recorded" ]; then\n')
    for j in reversed(range(len(folders))):
        d = full(folders[j])
        out.append(
            f'  if [ ! -e "$B/dirs/{j}" ] && [ -d {d} ]; then rmdir -- {d} 2>/dev/null; fi\n'
        )
    for j in reversed(range(len(folders))):
        d = full(folders[j])
        out.append(f'  if [ -e "$B/dirs/{j}" ]; then touch -r "$B/dirs/{j}" -- {d} || rb=bad; fi\n')
    out.append("fi\n")
    out.append(
        'if [ "$rb" = ok ]; then\n'
        f'  log "recovered an interrupted upgrade from $B: patch level {start} restored"\n'
        '  rm -f -- "$K"; exit 0\n'
        "fi\n"
        'log "recovery of the interrupted upgrade failed: backups kept in $B"\nexit 2\n'
    )
    return "".join(out)


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _op(k: int, op: Op, target: str, parents: list[tuple[int, str]]) -> str:
    """The lines of one op (``target``: the full path, unquoted)."""
    rel, p = op.path, q(target)
    if op.kind == "remove":
        return (
            f"if [ -f {p} ]; then\n"
            f"  {_backup(k, p)} || fail {q('cannot back up ' + rel)}\n"
            f"  rm -f -- {p} || fail {q('cannot remove ' + rel)}\n"
            f"  st_{k}=1; echo 'X {k}'; log {q(f'level {op.level}: removed {rel}')}\n"
            "fi\n"
        )
    lines = []
    for j, dq in parents:
        msg = q(f"cannot create the folder of {rel}")
        lines.append(f"if [ ! -d {dq} ]; then mkdir -- {dq} || fail {msg}; mk_{j}=1; fi\n")
    t = q(target + ".orch-new")
    replaced = q(f"level {op.level}: replaced {rel} {op.what}".rstrip())
    added = q(f"level {op.level}: added {rel} {op.what}".rstrip())
    lines += [
        f"ex_{k}=0\n",
        f"if [ -f {p} ]; then {_backup(k, p)} || fail {q('cannot back up ' + rel)}; ex_{k}=1; fi\n",
        f'cp -- "$S/{k}" {t} || {{ rm -f -- {t}; fail {q("cannot write " + rel)}; }}\n',
        f'if [ "$ex_{k}" = 1 ]; then chmod --reference={p} -- {t}; fi\n',
        f"touch -d @{op.mtime} -- {t} && mv -f -- {t} {p} || "
        f"{{ rm -f -- {t}; fail {q('cannot replace ' + rel)}; }}\n",
        f"st_{k}=1\n",
        f"if [ \"$ex_{k}\" = 1 ]; then echo 'R {k}'; log {replaced}; "
        f"else echo 'A {k}'; log {added}; fi\n",
    ]
    return "".join(lines)

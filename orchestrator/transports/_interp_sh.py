"""The persistent POSIX sh interpreter: the loop a Linux host runs on the other end of the
SSH channel, speaking the framing of :mod:`._frame`.

Start it with ``sh -c "$SH_INTERPRETER"`` (or write it to a file and run ``sh FILE``); it
needs only POSIX sh (dash, busybox ash, bash), ``base64`` (``-d`` to decode), ``mktemp``,
``tr``, ``sleep`` and ``kill``; ``setsid`` is used when present. For every request line
``ORCH1 <id> <timeout_s> <base64 script>`` it:

1. decodes the script into a private temp directory (``umask 077``);
2. runs it in a child ``sh`` with stdin from ``/dev/null`` (so the script can never eat the
   next request), stdout and stderr to fresh per-request files, and ``ORCH_PAYLOAD`` naming
   a file for the payload; with ``setsid`` the child leads its own process group, so a
   timeout kills everything it started;
3. runs a watchdog that, after ``timeout_s`` seconds, marks the request as timed out and
   sends TERM (then KILL after 2 s) to the child's process group; the loop itself is never
   signalled, answers exit code 124 with a stderr line saying so, and reads the next request;
4. answers one line ``ORCH1-END <id> <exit> <b64 out> <b64 err> <b64 payload>`` (``-`` for
   an empty field) and removes the request's files.

Lines that are not well-formed requests are ignored. End of input ends the loop (and the
temp directory is removed).
"""

from __future__ import annotations

SH_INTERPRETER = r"""
umask 077
orch_dir=$(mktemp -d "${TMPDIR:-/tmp}/orch1.XXXXXX") || exit 1
trap 'rm -rf "$orch_dir"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
trap 'exit 130' INT
if command -v setsid >/dev/null 2>&1; then orch_setsid=setsid; else orch_setsid=; fi
orch_b64() {
  if [ -s "$1" ]; then base64 <"$1" | tr -d '\n'; else printf '%s' -; fi
}
orch_answer() {
  printf 'ORCH1-END %s %s ' "$1" "$2"
  orch_b64 "$3"
  printf ' '
  orch_b64 "$4"
  printf ' '
  orch_b64 "$5"
  printf '\n'
}
orch_watchdog() {
  orch_left=$1
  while [ "$orch_left" -gt 0 ]; do
    sleep 1
    orch_left=$((orch_left - 1))
  done
  : >"$3"
  kill -s TERM -- "-$2" 2>/dev/null || kill -s TERM "$2" 2>/dev/null
  sleep 2
  kill -s KILL -- "-$2" 2>/dev/null || kill -s KILL "$2" 2>/dev/null
}
while IFS=' ' read -r orch_magic orch_id orch_timeout orch_script orch_rest; do
  [ "$orch_magic" = ORCH1 ] && [ -n "$orch_script" ] && [ -z "$orch_rest" ] || continue
  case $orch_id in '' | *[!0-9a-f]*) continue ;; esac
  case $orch_timeout in '' | *[!0-9]*) continue ;; esac
  orch_req="$orch_dir/$orch_id"
  : >"$orch_req.out"
  : >"$orch_req.err"
  : >"$orch_req.payload"
  if [ "$orch_script" = - ]; then
    : >"$orch_req.sh"
  elif ! printf '%s\n' "$orch_script" | base64 -d >"$orch_req.sh" 2>"$orch_req.err"; then
    printf 'orchestrator: the request is not valid base64\n' >>"$orch_req.err"
    orch_answer "$orch_id" 2 "$orch_req.out" "$orch_req.err" "$orch_req.payload"
    rm -f "$orch_req".*
    continue
  fi
  ORCH_PAYLOAD="$orch_req.payload" $orch_setsid sh "$orch_req.sh" \
    </dev/null >"$orch_req.out" 2>"$orch_req.err" &
  orch_pid=$!
  orch_watchdog "$orch_timeout" "$orch_pid" "$orch_req.timedout" </dev/null >/dev/null 2>&1 &
  orch_dog=$!
  wait "$orch_pid"
  orch_rc=$?
  kill -s KILL "$orch_dog" 2>/dev/null
  wait "$orch_dog" 2>/dev/null
  if [ -e "$orch_req.timedout" ]; then
    orch_rc=124
    printf 'orchestrator: timed out after %s s; the step was stopped\n' "$orch_timeout" \
      >>"$orch_req.err"
  fi
  orch_answer "$orch_id" "$orch_rc" "$orch_req.out" "$orch_req.err" "$orch_req.payload"
  rm -f "$orch_req".*
done
"""

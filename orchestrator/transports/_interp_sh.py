"""The persistent POSIX sh interpreter: the loop a Linux host runs on the other end of the
SSH channel, speaking the framing of :mod:`._frame`.

Start it with ``sh -c "$SH_INTERPRETER"`` (or write it to a file and run ``sh FILE``); it
needs only POSIX sh (dash, busybox ash, bash), ``base64`` (``-d`` to decode), ``mktemp``,
``tr``, ``sleep``, ``kill`` and ``ln``; ``setsid`` is used when present, ``sync FILE`` when
it accepts a file. For every request line ``ORCH1 <id> <timeout_s> <base64 script>`` it:

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

A request with a step id (``... <base64 script> <step>``, an apply) is **recorded**: its
work directory is under the per-user record directory ``$ORCH_STATE_DIR/requests``
(default ``/var/lib/orchestrator`` for root, else ``$XDG_STATE_HOME/orchestrator``, as the
verbs' state), and it runs under a *runner* (``sh run.sh``, with ``setsid`` in a session of
its own, so that it outlives the loop, its channel and their signals), which

1. creates ``requests/<step>`` exclusively (``set -C``) with ``started <runner pid>
   <time>`` and flushes it; if it already exists the request is refused with exit 125 and
   nothing runs;
2. runs the script with the same watchdog as above;
3. writes the response line to a temp file, flushes it, renames it into place and links it
   as ``requests/<step>.answer``: from then on the host can say how the step ended, whether
   or not the loop (or the controller) is still there.

The loop then prints the response line and removes the work directory. Requests without a
step id (probes, verifies, facts) pay none of this.

An ask line ``ORCH1-ASK <id> <step>`` is answered at once from the record (see
:mod:`._frame`): ``finished`` with the recorded response line, ``running`` while the
recorded runner pid is alive (``kill -0``), ``gone`` when it is not and no answer was
recorded, ``never`` when there is no record, in which case ``void`` is recorded so that a
late copy of the request is refused. Records older than 14 days are removed when a loop
starts. Lines that are not well-formed are ignored; end of input ends the loop (and its
temp directory is removed).
"""

from __future__ import annotations

#: How long (days) the host keeps the record of a step.
RECORD_DAYS = 14

#: Runs a step under a watchdog, in the runner and the inline path alike: ``orch_watchdog``
#: stops it at its timeout (after $1 seconds mark $3, TERM the process group of $2, then
#: KILL it); ``orch_watched SCRIPT OUT ERR PAYLOAD FLAG`` runs SCRIPT in its own session
#: under it and sets ``orch_rc`` (124 when it was stopped).
_WATCHDOG = r"""orch_watchdog() {
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
orch_watched() {
  ORCH_PAYLOAD="$4" $orch_setsid sh "$1" </dev/null >"$2" 2>"$3" &
  orch_pid=$!
  orch_watchdog "$orch_timeout" "$orch_pid" "$5" </dev/null >/dev/null 2>&1 &
  orch_dog=$!
  wait "$orch_pid"
  orch_rc=$?
  kill -s KILL "$orch_dog" 2>/dev/null
  wait "$orch_dog" 2>/dev/null
  if [ -e "$5" ]; then
    orch_rc=124
    printf 'orchestrator: timed out after %s s; the step was stopped\n' "$orch_timeout" >>"$3"
  fi
}"""

SH_INTERPRETER = (
    (
        r"""
umask 077
orch_dir=$(mktemp -d "${TMPDIR:-/tmp}/orch1.XXXXXX") || exit 1
trap 'rm -rf "$orch_dir"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
trap 'exit 130' INT
if command -v setsid >/dev/null 2>&1; then orch_setsid=setsid; else orch_setsid=; fi
if [ -n "${ORCH_STATE_DIR:-}" ]; then
  orch_rec=$ORCH_STATE_DIR/requests
elif [ "$(id -u)" = 0 ]; then
  orch_rec=/var/lib/orchestrator/requests
else
  orch_rec=${XDG_STATE_HOME:-$HOME/.local/state}/orchestrator/requests
fi
if mkdir -p "$orch_rec" 2>/dev/null; then
  find "$orch_rec/." ! -name . -prune -mtime +RECORD_DAYS -exec rm -rf {} + 2>/dev/null
fi
cat >"$orch_dir/run.sh" <<'ORCH_RUNNER'
orch_id=$1 orch_timeout=$2 orch_work=$3 orch_rec=$4 orch_setsid=$5
orch_sync() { sync "$1" >/dev/null 2>&1 || :; }
orch_b64() {
  if [ -s "$1" ]; then base64 <"$1" | tr -d '\n'; else printf '%s' -; fi
}
orch_put_answer() {
  {
    printf 'ORCH1-END %s %s ' "$orch_id" "$1"
    orch_b64 "$orch_work/out"
    printf ' '
    orch_b64 "$orch_work/err"
    printf ' '
    orch_b64 "$orch_work/payload"
    printf '\n'
  } >"$orch_work/answer.tmp"
  orch_sync "$orch_work/answer.tmp"
  mv -f "$orch_work/answer.tmp" "$orch_work/answer"
}
ORCH_WATCHDOG
: >"$orch_work/out"
: >"$orch_work/payload"
if [ -n "$orch_rec" ]; then
  if ! (set -C; printf 'started %s %s\n' "$$" "$(date +%s)" >"$orch_rec") 2>/dev/null; then
    printf 'orchestrator: step %s was already received by this host; not run again\n' \
      "${orch_rec##*/}" >"$orch_work/err"
    orch_put_answer 125
    exit 0
  fi
  orch_sync "$orch_rec"
fi
orch_watched "$orch_work/sh" "$orch_work/out" "$orch_work/err" "$orch_work/payload" \
  "$orch_work/timedout"
orch_put_answer "$orch_rc"
rm -f "$orch_work/out" "$orch_work/err" "$orch_work/payload" "$orch_work/sh"
if [ -n "$orch_rec" ]; then
  ln "$orch_work/answer" "$orch_rec.answer" 2>/dev/null ||
    cp "$orch_work/answer" "$orch_rec.answer"
fi
ORCH_RUNNER
orch_fail() {
  printf 'ORCH1-END %s %s - %s -\n' "$1" "$2" "$(printf '%s' "$3" | base64 | tr -d '\n')"
}
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
ORCH_WATCHDOG
orch_inline() {
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
    return
  fi
  orch_watched "$orch_req.sh" "$orch_req.out" "$orch_req.err" "$orch_req.payload" \
    "$orch_req.timedout"
  orch_answer "$orch_id" "$orch_rc" "$orch_req.out" "$orch_req.err" "$orch_req.payload"
  rm -f "$orch_req".*
}
orch_step_ok() {
  case $1 in '' | *[!0-9a-f]*) return 1 ;; esac
  [ "${#1}" -eq 32 ]
}
orch_ask() {
  orch_f="$orch_rec/$2"
  orch_line=
  if [ ! -d "$orch_rec" ]; then
    orch_state=never
  elif [ -s "$orch_f.answer" ]; then
    orch_state=finished
  elif (set -C; printf 'void %s\n' "$(date +%s)" >"$orch_f") 2>/dev/null; then
    orch_state=never
  else
    orch_what= orch_pid=
    read -r orch_what orch_pid orch_more <"$orch_f" 2>/dev/null
    case $orch_what in
      void) orch_state=never ;;
      started)
        if kill -0 "$orch_pid" 2>/dev/null; then
          orch_state=running
        elif [ -s "$orch_f.answer" ]; then
          orch_state=finished
        else
          orch_state=gone
        fi ;;
      *) orch_state=running ;;
    esac
  fi
  [ "$orch_state" = finished ] && read -r orch_line <"$orch_f.answer"
  orch_json="{\"state\": \"$orch_state\", \"answer\": \"$orch_line\"}"
  printf 'ORCH1-END %s 0 - - %s\n' "$1" "$(printf '%s' "$orch_json" | base64 | tr -d '\n')"
}
while IFS=' ' read -r orch_magic orch_id orch_timeout orch_script orch_rest; do
  case $orch_id in '' | *[!0-9a-f]*) continue ;; esac
  if [ "$orch_magic" = ORCH1-ASK ] && [ -z "$orch_script" ]; then
    orch_step_ok "$orch_timeout" && orch_ask "$orch_id" "$orch_timeout"
    continue
  fi
  [ "$orch_magic" = ORCH1 ] && [ -n "$orch_script" ] || continue
  case $orch_timeout in '' | *[!0-9]*) continue ;; esac
  if [ -z "$orch_rest" ]; then
    orch_inline
    continue
  fi
  orch_step_ok "$orch_rest" || continue
  orch_key="$orch_rec/$orch_rest"
  orch_work="$orch_rec/$orch_rest.$orch_id.d"
  if ! mkdir "$orch_work" 2>/dev/null; then
    orch_fail "$orch_id" 2 "orchestrator: cannot create $orch_work to record the step"
    continue
  fi
  if [ "$orch_script" = - ]; then
    : >"$orch_work/sh"
  elif ! printf '%s\n' "$orch_script" | base64 -d >"$orch_work/sh" 2>/dev/null; then
    orch_fail "$orch_id" 2 'orchestrator: the request is not valid base64'
    rm -rf "$orch_work"
    continue
  fi
  $orch_setsid sh "$orch_dir/run.sh" "$orch_id" "$orch_timeout" "$orch_work" "$orch_key" \
    "$orch_setsid" </dev/null >/dev/null 2>&1 &
  wait "$!"
  if [ -s "$orch_work/answer" ]; then
    cat "$orch_work/answer"
  else
    orch_fail "$orch_id" 1 'orchestrator: the step ended without an answer'
  fi
  rm -rf "$orch_work"
done
"""
    )
    .replace("RECORD_DAYS", str(RECORD_DAYS))
    .replace("ORCH_WATCHDOG", _WATCHDOG)
)

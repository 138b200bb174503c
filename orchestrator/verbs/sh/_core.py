"""The core of the POSIX sh verb library: the dispatcher ``orch_verb``, parameter access,
JSON payloads, host-side state, file facts, and the load-balancer verbs (a site hook,
``lb_hook`` or ``/etc/orchestrator/lb-hook``, run as ``HOOK out|in|status POOL``).

A call is ``orch_verb KIND STEP key=value ...``: every parameter is one shell word (lists are
repeated keys, context keys start with ``@``), read with ``orch_get VAR KEY "$@"`` (exact, no
command substitution) or by looping over ``"$@"``. Verbs are ``orch_<kind>_<step>``; they
write their payload as JSON to ``$ORCH_PAYLOAD`` (stdout when unset) and fail with
``orch_die`` (stderr, exit 1). State lives under ``$ORCH_STATE_DIR`` (default
``/var/lib/orchestrator`` for root, else ``$XDG_STATE_HOME/orchestrator``), one file per
key named by its SHA-256. Only POSIX sh and the usual utilities (awk, sed, df, sha256sum,
stat or date -r) are used; no bashisms.
"""

from __future__ import annotations

SH_CORE = r"""
if [ -n "${ORCH_STATE_DIR:-}" ]; then
  ORCH_STATE=$ORCH_STATE_DIR
elif [ "$(id -u)" = 0 ]; then
  ORCH_STATE=/var/lib/orchestrator
else
  ORCH_STATE=${XDG_STATE_HOME:-$HOME/.local/state}/orchestrator
fi

orch_die() {
  printf 'orchestrator: %s\n' "$*" >&2
  exit 1
}

orch_verb() {
  [ $# -ge 2 ] || orch_die 'usage: orch_verb KIND STEP [key=value ...]'
  orch_kind=$1
  orch_step=$2
  shift 2
  case $orch_kind in '' | *[!a-z_]*) orch_die "unknown action kind '$orch_kind'" ;; esac
  case $orch_step in probe | apply | verify) ;; *) orch_die "unknown step '$orch_step'" ;; esac
  command -v "orch_${orch_kind}_${orch_step}" >/dev/null 2>&1 ||
    orch_die "this host has no $orch_step verb for action kind '$orch_kind'"
  "orch_${orch_kind}_${orch_step}" "$@"
}

orch_get() {
  orch_get_val=
  orch_get_var=$1
  orch_get_key=$2
  shift 2
  for orch_get_arg do
    case $orch_get_arg in
      "$orch_get_key="*) orch_get_val=${orch_get_arg#*=}; break ;;
    esac
  done
  eval "$orch_get_var=\$orch_get_val"
}

orch_need() {
  orch_get "$@"
  eval "[ -n \"\${$1}\" ]" || orch_die "parameter '$2' is required"
}

orch_json_str() {
  printf '%s.' "$1" | awk '
    BEGIN {
      for (i = 1; i < 32; i++) esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
      esc["\t"] = "\\t"; esc["\r"] = "\\r"; esc["\\"] = "\\\\"; esc["\""] = "\\\""
      printf "\""
    }
    function put(s,   i, n, c) {
      n = length(s)
      for (i = 1; i <= n; i++) { c = substr(s, i, 1); printf "%s", ((c in esc) ? esc[c] : c) }
    }
    NR > 1 { put(prev); printf "\\n" }
    { prev = $0 }
    END { put(substr(prev, 1, length(prev) - 1)); printf "\"" }'
}

orch_payload() {
  if [ -n "${ORCH_PAYLOAD:-}" ]; then
    printf '%s\n' "$1" >"$ORCH_PAYLOAD"
  else
    printf '%s\n' "$1"
  fi
}

orch_out_probe() {
  orch_payload "{\"in_effect\": $1, \"detail\": $(orch_json_str "$2")${3:-}}"
}

orch_out_apply() {
  orch_ao_text=$(orch_json_str "$3")
  orch_payload "{\"exit_code\": $1, \"reboot_required\": $2, \"output\": $orch_ao_text${4:-}}"
}

orch_out_verify() {
  orch_payload "{\"ok\": $1, \"message\": $(orch_json_str "$2")${3:-}}"
}

orch_hash() {
  printf '%s' "$1" | sha256sum | cut -c1-64
}

orch_mark_path() {
  mkdir -p "$ORCH_STATE/$1" || orch_die "cannot create $ORCH_STATE/$1"
  printf '%s/%s/%s' "$ORCH_STATE" "$1" "$(orch_hash "$2")"
}

orch_mark_set() {
  orch_mark_file=$(orch_mark_path "$1" "$2")
  shift 2
  printf '%s\n' "$@" >"$orch_mark_file"
}

orch_mark_get() {
  orch_mark_file=$(orch_mark_path "$1" "$2")
  [ -f "$orch_mark_file" ] && sed -n '1p' "$orch_mark_file"
}

orch_mark_del() {
  rm -f "$(orch_mark_path "$1" "$2")"
}

orch_now() {
  date +%s
}

orch_mtime() {
  stat -c %Y -- "$1" 2>/dev/null || date -r "$1" +%s
}

orch_abs() {
  case $1 in /*) printf '%s' "$1" ;; *) printf './%s' "$1" ;; esac
}

orch_file_facts() {
  orch_ff_sep=
  printf '['
  for orch_ff_path do
    printf '%s{"path": %s, ' "$orch_ff_sep" "$(orch_json_str "$orch_ff_path")"
    if [ -f "$orch_ff_path" ]; then
      orch_ff_sum=$(sha256sum <"$orch_ff_path" | cut -c1-64)
      orch_ff_size=$(wc -c <"$orch_ff_path" | tr -d ' ')
      printf '"exists": true, "size": %s, "sha256": "%s", "mtime": %s}' \
        "$orch_ff_size" "$orch_ff_sum" "$(orch_mtime "$orch_ff_path")"
    else
      printf '"exists": false}'
    fi
    orch_ff_sep=', '
  done
  printf ']'
}

orch_file_facts_payload() {
  orch_payload "{\"files\": $(orch_file_facts "$@")}"
}

orch_run_captured() {
  orch_rc_out=$(mktemp "${TMPDIR:-/tmp}/orch-run.XXXXXX") || orch_die 'mktemp failed'
  "$@" </dev/null >"$orch_rc_out" 2>&1
  orch_rc=$?
  orch_rc_text=$(cat "$orch_rc_out"; printf x)
  orch_rc_text=${orch_rc_text%x}
  rm -f "$orch_rc_out"
}

orch_lb() {
  orch_need orch_lb_pool pool "$@"
  orch_get orch_lb_hook lb_hook "$@"
  : "${orch_lb_hook:=/etc/orchestrator/lb-hook}"
  [ -x "$orch_lb_hook" ] || orch_die "no load-balancer hook $orch_lb_hook (set lb_hook)"
  orch_run_captured "$orch_lb_hook" "$ORCH_LB_VERB" "$orch_lb_pool"
  [ "$orch_rc" -eq 0 ] ||
    orch_die "load-balancer hook $ORCH_LB_VERB exited with $orch_rc: $orch_rc_text"
  ORCH_LB_STATE=$(printf '%s' "$orch_rc_text" | sed -n '1p')
}

orch_is() {
  if [ "$1" = "$2" ]; then echo true; else echo false; fi
}

orch_lb_status() { ORCH_LB_VERB=status; orch_lb "$@"; }
orch_lb_out_probe() {
  orch_lb_status "$@"
  orch_out_probe "$(orch_is "$ORCH_LB_STATE" out)" "rotation: $ORCH_LB_STATE"
}
orch_lb_out_apply() { ORCH_LB_VERB=out; orch_lb "$@"; orch_out_apply 0 false "$orch_rc_text"; }
orch_lb_out_verify() {
  orch_lb_status "$@"
  orch_out_verify "$(orch_is "$ORCH_LB_STATE" out)" "rotation: $ORCH_LB_STATE"
}
orch_lb_in_probe() {
  orch_lb_status "$@"
  orch_out_probe "$(orch_is "$ORCH_LB_STATE" in)" "rotation: $ORCH_LB_STATE"
}
orch_lb_in_apply() { ORCH_LB_VERB=in; orch_lb "$@"; orch_out_apply 0 false "$orch_rc_text"; }
orch_lb_in_verify() {
  orch_lb_status "$@"
  orch_out_verify "$(orch_is "$ORCH_LB_STATE" in)" "rotation: $ORCH_LB_STATE"
}
"""

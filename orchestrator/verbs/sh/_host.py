"""POSIX sh verbs for Linux hosts: the checks. Services are in :mod:`._services`;
packages, reboots, files and hooks in :mod:`._pkg`; the load balancer in
:mod:`._core`.

Checks: ``disk-space`` (``df -Pk``), ``no-installer-running`` (an fcntl/flock lock held on
the dpkg/rpm lock files per ``/proc/locks``, or a package manager process running),
``services-running``, ``version`` (``dpkg-query``/``rpm`` version of ``package``, or the
output of ``version_command``), ``backup`` (the age of ``marker``) and ``acknowledged``.
"""

from __future__ import annotations

SH_HOST = r"""
orch_check() {
  orch_get orch_check_name check "$@"
  ORCH_OK=false
  ORCH_MSG=
  case $orch_check_name in
    disk-space) orch_check_disk_space "$@" ;;
    no-installer-running) orch_check_no_installer "$@" ;;
    services-running) orch_check_services "$@" ;;
    version) orch_check_version "$@" ;;
    backup) orch_check_backup "$@" ;;
    acknowledged)
      orch_get orch_ack statement "$@"
      ORCH_OK=true ORCH_MSG="acknowledged: $orch_ack" ;;
    *) orch_die "unknown check '$orch_check_name'" ;;
  esac
}

orch_check_step() {
  orch_check "$@"
  [ "$ORCH_OK" = true ] || orch_die "check '$orch_check_name' failed: $ORCH_MSG"
  orch_out_apply 0 false "$ORCH_MSG"
}

orch_preflight_probe() { orch_out_probe false 'a check always runs'; }
orch_preflight_apply() { orch_check_step "$@"; }
orch_preflight_verify() { orch_check "$@"; orch_out_verify "$ORCH_OK" "$ORCH_MSG"; }
orch_verify_probe() { orch_out_probe false 'a check always runs'; }
orch_verify_apply() { orch_check_step "$@"; }
orch_verify_verify() { orch_check "$@"; orch_out_verify "$ORCH_OK" "$ORCH_MSG"; }

orch_check_disk_space() {
  orch_get orch_ds_path path "$@"
  orch_get orch_ds_need min_free_mb "$@"
  : "${orch_ds_path:=/}" "${orch_ds_need:=0}"
  case $orch_ds_need in *[!0-9]*) orch_die "min_free_mb must be a number" ;; esac
  orch_ds_kb=$(df -Pk "$(orch_abs "$orch_ds_path")" | awk 'NR == 2 { print $4 }')
  [ -n "$orch_ds_kb" ] || orch_die "df cannot tell the free space of $orch_ds_path"
  orch_ds_mb=$((orch_ds_kb / 1024))
  ORCH_MSG="$orch_ds_path has $orch_ds_mb MB free, $orch_ds_need MB needed"
  if [ "$orch_ds_mb" -ge "$orch_ds_need" ]; then ORCH_OK=true; fi
}

orch_lock_held() {
  [ -e "$1" ] && [ -r /proc/locks ] || return 1
  orch_lk_ino=$(ls -di -- "$1" | awk '{ print $1 }')
  awk -v ino="$orch_lk_ino" '{ for (i = 1; i <= NF; i++) {
    n = split($i, p, ":"); if (n == 3 && p[3] == ino) found = 1 } } END { exit !found }' /proc/locks
}

orch_check_no_installer() {
  orch_ni_locks=
  for orch_a do case $orch_a in locks=*) orch_ni_locks=1 ;; esac; done
  if [ -z "$orch_ni_locks" ]; then
    set -- "$@" locks=/var/lib/dpkg/lock-frontend locks=/var/lib/dpkg/lock \
      locks=/var/lib/rpm/.rpm.lock locks=/var/cache/dnf/metadata_lock.pid
  fi
  for orch_a do
    case $orch_a in
      locks=*) if orch_lock_held "${orch_a#locks=}"; then
          ORCH_MSG="an installer holds ${orch_a#locks=}"; return 0; fi ;;
    esac
  done
  orch_ni_procs=$(ps -e -o comm= 2>/dev/null |
    grep -x -E 'dpkg|apt|apt-get|aptitude|unattended-upgr|yum|dnf|rpm|zypper' |
    sort -u | tr '\n' ' ')
  if [ -n "$orch_ni_procs" ]; then ORCH_MSG="package manager running: $orch_ni_procs"; return 0; fi
  ORCH_OK=true
  ORCH_MSG='no installer running'
}

orch_check_services() {
  orch_cs_down=
  for orch_a do
    case $orch_a in
      services=*) orch_cs_state=$(orch_service_state "${orch_a#services=}") || exit 1
        [ "$orch_cs_state" = active ] ||
          orch_cs_down="$orch_cs_down ${orch_a#services=} ($orch_cs_state)" ;;
    esac
  done
  if [ -n "$orch_cs_down" ]; then
    ORCH_MSG="not running:$orch_cs_down"
  else
    ORCH_OK=true ORCH_MSG='services running'
  fi
}

orch_installed_version() {
  if command -v dpkg-query >/dev/null 2>&1; then
    orch_iv=$(dpkg-query -W -f '${Status} ${Version}' -- "$1" 2>/dev/null)
    case $orch_iv in
      'install ok installed '*) printf '%s' "${orch_iv#install ok installed }"; return 0 ;;
    esac
  fi
  if command -v rpm >/dev/null 2>&1; then
    rpm -q --qf '%{VERSION}-%{RELEASE}' -- "$1" 2>/dev/null && return 0
  fi
  return 1
}

orch_version_match() {
  awk -v want="$1" -v have="$2" 'BEGIN {
    if (want == have) exit 0
    if (match(want, /[0-9]+(\.[0-9]+)*/) == 0) exit 1
    w = substr(want, RSTART, RLENGTH)
    if (match(have, /[0-9]+(\.[0-9]+)*/) == 0) exit 1
    h = substr(have, RSTART, RLENGTH)
    nw = split(w, a, "."); nh = split(h, b, ".")
    if (nh < nw) exit 1
    for (i = 1; i <= nw; i++) if (a[i] + 0 != b[i] + 0) exit 1
    exit 0 }'
}

orch_check_version() {
  orch_need orch_cv_expect expect "$@"
  orch_get orch_cv_package package "$@"
  orch_get orch_cv_command version_command "$@"
  if [ -n "$orch_cv_command" ]; then
    orch_run_captured sh -c "$orch_cv_command"
    orch_cv_have=$(printf '%s' "$orch_rc_text" | sed -n '1p')
    orch_cv_source="version_command"
  elif [ -n "$orch_cv_package" ]; then
    orch_cv_have=$(orch_installed_version "$orch_cv_package") || orch_cv_have='(not installed)'
    orch_cv_source="package $orch_cv_package"
  else
    orch_die "the version check needs package or version_command on Linux"
  fi
  ORCH_MSG="$orch_cv_source reports $orch_cv_have, expected $orch_cv_expect"
  if orch_version_match "$orch_cv_expect" "$orch_cv_have"; then ORCH_OK=true; fi
}

orch_check_backup() {
  orch_need orch_cb_marker marker "$@"
  orch_get orch_cb_hours max_age_hours "$@"
  : "${orch_cb_hours:=24}"
  case $orch_cb_hours in *[!0-9]*) orch_die "max_age_hours must be a whole number" ;; esac
  [ -e "$orch_cb_marker" ] || { ORCH_MSG="no backup marker $orch_cb_marker"; return 0; }
  orch_cb_age=$(( ($(orch_now) - $(orch_mtime "$orch_cb_marker")) / 3600 ))
  ORCH_MSG="the last backup is $orch_cb_age h old (max $orch_cb_hours)"
  if [ "$orch_cb_age" -le "$orch_cb_hours" ]; then ORCH_OK=true; fi
}

"""

"""POSIX sh verbs for services on Linux hosts: ``stop_services``, ``start_services`` and the
state the ``services-running`` check reads.

The service manager is systemd when it runs (``/run/systemd/system`` exists and
``systemctl`` is on PATH), else OpenRC's ``rc-service``, else SysV's ``service``. A name is
refused (``orch_die``) before any of them is called unless it is a plain service name
(docs/playbook.md: ``A-Z a-z 0-9 _ @ . : -``, not starting with ``.``, ``-`` or ``@``, at
most 255 bytes), so it can never be a path or an option. Under OpenRC and SysV it is looked
up as the executable file ``/etc/init.d/NAME``, a direct child of that directory; one that is
not there is *missing*. ``systemctl`` and ``rc-service`` get ``--`` before the name
(``service`` takes none). ``$ORCH_SERVICE_ROOT`` (from the host's environment only, never
from a plan; for tests) prefixes ``/run/systemd/system``, ``/etc/init.d``,
``/etc/runlevels`` and ``/etc/rc?.d``.

``stop_services`` remembers, per service, the state before the stop, its start mode and its
active reverse dependencies (area ``services``, key ``before|NAME``); ``start_services``
starts a service again only if it was running, then marks the record ``restored-*`` so a
later run records afresh. A missing service is skipped by every step and reported as
skipped (``start_services`` of a missing ``product`` service fails). The apply payloads add
``stopped`` (``[{name, previous, start_mode, dependents}]``: what this call stopped),
``earlier`` (found stopped, recorded as running by an earlier stop not yet restored) and
``skipped`` (names not installed).
"""

from __future__ import annotations

SH_SERVICES = r"""
orch_svc_root=${ORCH_SERVICE_ROOT:-}
orch_svc_initd=$orch_svc_root/etc/init.d

orch_svc_name() {
  case $1 in
    '' | [!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_]* | \
    *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@.:-]*)
      orch_die "refused service name '$1': not a plain service name (docs/playbook.md)" ;;
  esac
  [ "${#1}" -le 255 ] || orch_die 'refused service name: longer than 255 characters'
}

orch_svc_manager() {
  if [ -z "${orch_svc_mgr:-}" ]; then
    if [ -d "$orch_svc_root/run/systemd/system" ] && command -v systemctl >/dev/null 2>&1; then
      orch_svc_mgr=systemd
    elif command -v rc-service >/dev/null 2>&1; then
      orch_svc_mgr=openrc
    elif command -v service >/dev/null 2>&1; then
      orch_svc_mgr=sysv
    else
      orch_die 'no service manager: neither systemd, rc-service nor service'
    fi
  fi
}

orch_svc_script() {
  [ -f "$orch_svc_initd/$1" ] && [ -x "$orch_svc_initd/$1" ]
}

orch_service_state() {
  orch_svc_name "$1"
  orch_svc_manager
  case $orch_svc_mgr in
    systemd)
      case $(systemctl show -p LoadState -- "$1" 2>/dev/null) in
        LoadState=not-found | '') echo missing; return 0 ;;
      esac
      if systemctl is-active --quiet -- "$1"; then echo active; else echo inactive; fi ;;
    openrc)
      orch_svc_script "$1" || { echo missing; return 0; }
      if rc-service -- "$1" status >/dev/null 2>&1; then echo active; else echo inactive; fi ;;
    sysv)
      orch_svc_script "$1" || { echo missing; return 0; }
      if service "$1" status >/dev/null 2>&1; then echo active; else echo inactive; fi ;;
  esac
}

orch_service_mode() {
  orch_svc_mode=disabled
  case $orch_svc_mgr in
    systemd)
      orch_svc_mode=$(systemctl is-enabled -- "$1" 2>/dev/null | sed -n '1p')
      case $orch_svc_mode in '' | *[!a-z-]*) orch_svc_mode=unknown ;; esac ;;
    openrc)
      for orch_f in "$orch_svc_root"/etc/runlevels/*/"$1"; do
        [ -e "$orch_f" ] && orch_svc_mode=enabled
      done ;;
    sysv)
      for orch_f in "$orch_svc_root"/etc/rc[2345].d/S[0-9][0-9]"$1"; do
        [ -e "$orch_f" ] && orch_svc_mode=enabled
      done ;;
  esac
  printf '%s' "$orch_svc_mode"
}

orch_dependents() {
  [ "$orch_svc_mgr" = systemd ] || return 0
  orch_deps=$(systemctl list-dependencies --reverse --plain -- "$1" 2>/dev/null | sed -n '2,$p')
  for orch_dep in $orch_deps; do
    case $orch_dep in *[!A-Za-z0-9@._:-]* | *[!e]) continue ;; *.service) ;; *) continue ;; esac
    systemctl is-active --quiet -- "$orch_dep" && printf '%s\n' "$orch_dep"
  done
}

orch_service_do() {
  orch_svc_name "$2"
  orch_svc_manager
  case $orch_svc_mgr in
    systemd) systemctl "$1" -- "$2" ;;
    openrc) rc-service -- "$2" "$1" ;;
    sysv) service "$2" "$1" ;;
  esac
}

orch_before() {
  orch_before_state=$(orch_mark_get services "before|$1")
  case $orch_before_state in restored-*) orch_before_state= ;; esac
}

orch_before_deps() {
  sed -n '2,$p' "$(orch_mark_path services "before|$1")" 2>/dev/null | grep -v '^mode='
}

orch_services_state() {
  orch_svc_manager
  orch_ss_want=$1
  shift
  orch_ss_bad=
  orch_ss_skip=
  for orch_a do
    case $orch_a in
      services=*) orch_ss_name=${orch_a#services=}
        orch_ss_now=$(orch_service_state "$orch_ss_name") || exit 1
        case $orch_ss_want:$orch_ss_now in
          *:missing) orch_ss_skip="$orch_ss_skip $orch_ss_name" ;;
          stopped:active) orch_ss_bad="$orch_ss_bad $orch_ss_name" ;;
          running:inactive)
            case $(orch_mark_get services "before|$orch_ss_name") in
              inactive | restored-inactive) ;;
              *) orch_ss_bad="$orch_ss_bad $orch_ss_name" ;;
            esac ;;
        esac ;;
    esac
  done
  orch_ss_note=
  [ -z "$orch_ss_skip" ] || orch_ss_note="; skipped (not installed):$orch_ss_skip"
}

orch_json_names() {
  orch_jn_sep=
  printf '['
  for orch_jn do printf '%s"%s"' "$orch_jn_sep" "$orch_jn"; orch_jn_sep=', '; done
  printf ']'
}

orch_stop_services_probe() {
  orch_services_state stopped "$@"
  if [ -n "$orch_ss_bad" ]; then
    orch_out_probe false "running:$orch_ss_bad$orch_ss_note"
  else
    orch_out_probe true "all stopped$orch_ss_note"
  fi
}

orch_stop_services_apply() {
  orch_svc_manager
  orch_sv_stopped= orch_sv_json= orch_sv_earlier= orch_sv_already= orch_sv_skip=
  for orch_a do
    case $orch_a in
      services=*) orch_sv_name=${orch_a#services=}
        orch_sv_now=$(orch_service_state "$orch_sv_name") || exit 1
        if [ "$orch_sv_now" = missing ]; then
          orch_sv_skip="$orch_sv_skip $orch_sv_name"
          continue
        fi
        orch_before "$orch_sv_name"
        if [ "$orch_sv_now" = active ]; then
          orch_sv_deps=$(orch_dependents "$orch_sv_name")
          orch_sv_mode=$(orch_service_mode "$orch_sv_name")
          orch_mark_set services "before|$orch_sv_name" active "mode=$orch_sv_mode" $orch_sv_deps
          orch_run_captured orch_service_do stop "$orch_sv_name"
          [ "$orch_rc" -eq 0 ] || orch_die "cannot stop $orch_sv_name: $orch_rc_text"
          orch_sv_stopped="$orch_sv_stopped $orch_sv_name"
          orch_sv_entry="{\"name\": \"$orch_sv_name\", \"previous\": \"active\""
          orch_sv_entry="$orch_sv_entry, \"start_mode\": \"$orch_sv_mode\""
          orch_sv_entry="$orch_sv_entry, \"dependents\": $(orch_json_names $orch_sv_deps)}"
          orch_sv_json="$orch_sv_json${orch_sv_json:+, }$orch_sv_entry"
        elif [ "$orch_before_state" = active ]; then
          orch_sv_earlier="$orch_sv_earlier $orch_sv_name"
        else
          orch_mark_set services "before|$orch_sv_name" inactive \
            "mode=$(orch_service_mode "$orch_sv_name")"
          orch_sv_already="$orch_sv_already $orch_sv_name"
        fi ;;
    esac
  done
  orch_sv_text="stopped:${orch_sv_stopped:- none}"
  [ -z "$orch_sv_already" ] || orch_sv_text="$orch_sv_text; already stopped:$orch_sv_already"
  [ -z "$orch_sv_earlier" ] ||
    orch_sv_text="$orch_sv_text; stopped by an earlier run:$orch_sv_earlier"
  [ -z "$orch_sv_skip" ] || orch_sv_text="$orch_sv_text; skipped (not installed):$orch_sv_skip"
  orch_sv_extra=", \"stopped\": [$orch_sv_json]"
  orch_sv_extra="$orch_sv_extra, \"earlier\": $(orch_json_names $orch_sv_earlier)"
  orch_sv_extra="$orch_sv_extra, \"skipped\": $(orch_json_names $orch_sv_skip)"
  orch_out_apply 0 false "$orch_sv_text" "$orch_sv_extra"
}

orch_stop_services_verify() {
  orch_services_state stopped "$@"
  if [ -n "$orch_ss_bad" ]; then
    orch_out_verify false "running:$orch_ss_bad$orch_ss_note"
  else
    orch_out_verify true "all stopped$orch_ss_note"
  fi
}

orch_start_services_probe() {
  orch_services_state running "$@"
  if [ -n "$orch_ss_bad" ]; then
    orch_out_probe false "not running:$orch_ss_bad$orch_ss_note"
  else
    orch_out_probe true "all running$orch_ss_note"
  fi
}

orch_start_services_apply() {
  orch_svc_manager
  orch_get orch_sv_purpose purpose "$@"
  orch_sv_done= orch_sv_left= orch_sv_skip=
  for orch_a do
    case $orch_a in
      services=*) orch_sv_name=${orch_a#services=}
        orch_sv_now=$(orch_service_state "$orch_sv_name") || exit 1
        if [ "$orch_sv_now" = missing ]; then
          [ "$orch_sv_purpose" = interfering ] || orch_die "service $orch_sv_name does not exist"
          orch_sv_skip="$orch_sv_skip $orch_sv_name"
          continue
        fi
        orch_before "$orch_sv_name"
        if [ "$orch_before_state" = inactive ]; then
          orch_sv_left="$orch_sv_left $orch_sv_name"
          orch_sv_restored=restored-inactive
        else
          if [ "$orch_sv_now" != active ]; then
            orch_run_captured orch_service_do start "$orch_sv_name"
            [ "$orch_rc" -eq 0 ] || orch_die "cannot start $orch_sv_name: $orch_rc_text"
          fi
          orch_sv_done="$orch_sv_done $orch_sv_name"
          for orch_sv_dep in $(orch_before_deps "$orch_sv_name"); do
            orch_service_do start "$orch_sv_dep" >/dev/null 2>&1 &&
              orch_sv_done="$orch_sv_done $orch_sv_dep"
          done
          orch_sv_restored=restored-active
        fi
        if [ -n "$orch_before_state" ]; then
          orch_sv_mark=$(orch_mark_path services "before|$orch_sv_name")
          sed "1s/.*/$orch_sv_restored/" "$orch_sv_mark" >"$orch_sv_mark.new" &&
            mv -f "$orch_sv_mark.new" "$orch_sv_mark"
        fi ;;
    esac
  done
  orch_sv_text="started:${orch_sv_done:- none}"
  [ -z "$orch_sv_left" ] ||
    orch_sv_text="$orch_sv_text; left stopped (stopped before the run):$orch_sv_left"
  [ -z "$orch_sv_skip" ] || orch_sv_text="$orch_sv_text; skipped (not installed):$orch_sv_skip"
  orch_out_apply 0 false "$orch_sv_text" ", \"skipped\": $(orch_json_names $orch_sv_skip)"
}

orch_start_services_verify() {
  orch_services_state running "$@"
  if [ -n "$orch_ss_bad" ]; then
    orch_out_verify false "not running:$orch_ss_bad$orch_ss_note"
  else
    orch_out_verify true "all running$orch_ss_note"
  fi
}
"""

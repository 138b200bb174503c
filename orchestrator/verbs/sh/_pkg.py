"""POSIX sh verbs for packages, reboots, preserved files and hooks on Linux hosts.

Packages: ``command`` (trusted playbook text run by ``sh -c``) or, by ``package_kind``,
``dpkg -i`` / ``rpm -U``. Reboots run ``$ORCH_REBOOT_CMD`` (default ``systemctl reboot``,
else ``shutdown -r now``) detached after ``delay_s`` seconds and report the boot id of
``/proc/sys/kernel/random/boot_id``.

``install`` returns the installer's exit code untouched; it is a success when the code is in
``success_codes`` (default 0) or ``reboot_codes`` (which also ask for a reboot, as does
``/var/run/reboot-required`` afterwards). A successful install is remembered (package,
version, time) under ``$ORCH_STATE_DIR``, for the probes of install and reboot.
"""

from __future__ import annotations

SH_PKG = r"""
orch_code_in() {
  orch_ci_code=$1
  orch_ci_key=$2
  orch_ci_default=$3
  shift 3
  orch_ci_seen=
  for orch_a do
    case $orch_a in
      "$orch_ci_key="*) orch_ci_seen=1; [ "${orch_a#*=}" = "$orch_ci_code" ] && return 0 ;;
    esac
  done
  [ -n "$orch_ci_seen" ] && return 1
  for orch_a in $orch_ci_default; do
    [ "$orch_a" = "$orch_ci_code" ] && return 0
  done
  return 1
}

orch_install_state() {
  orch_need orch_ip_package package "$@"
  orch_get orch_ip_version version "$@"
  orch_ip_have=$(orch_installed_version "$orch_ip_package") || orch_ip_have=
  orch_ip_ok=
  if [ -n "$orch_ip_have" ] && [ -z "$orch_ip_version" ]; then
    orch_ip_ok=1
  elif [ -n "$orch_ip_have" ] && orch_version_match "$orch_ip_version" "$orch_ip_have"; then
    orch_ip_ok=1
  fi
  orch_ip_mark=$(orch_mark_get installed "$orch_ip_package")
  if [ -n "$orch_ip_ok" ]; then
    ORCH_DONE=true ORCH_DETAIL="$orch_ip_package $orch_ip_have is installed"
  elif [ -n "$orch_ip_version" ] && [ "$orch_ip_mark" = "$orch_ip_version" ]; then
    ORCH_DONE=true ORCH_DETAIL="$orch_ip_package $orch_ip_version was installed by the orchestrator"
  else
    ORCH_DONE=false
    ORCH_DETAIL="$orch_ip_package ${orch_ip_version:-(any version)} is not installed"
  fi
}

orch_install_probe() { orch_install_state "$@"; orch_out_probe "$ORCH_DONE" "$ORCH_DETAIL"; }
orch_install_verify() { orch_install_state "$@"; orch_out_verify "$ORCH_DONE" "$ORCH_DETAIL"; }

orch_install_apply() {
  orch_need orch_in_package package "$@"
  orch_get orch_in_version version "$@"
  orch_get orch_in_kind package_kind "$@"
  orch_get orch_in_source source "$@"
  orch_get orch_in_command command "$@"
  if [ -n "$orch_in_command" ]; then
    ORCH_PACKAGE=$orch_in_package ORCH_VERSION=$orch_in_version ORCH_SOURCE=$orch_in_source \
      orch_run_captured sh -c "$orch_in_command"
  else
    [ -n "$orch_in_source" ] || orch_die "parameter 'source' is required"
    [ -e "$orch_in_source" ] || orch_die "source not found: $orch_in_source"
    case $orch_in_kind in
      deb) orch_run_captured dpkg -i "$(orch_abs "$orch_in_source")" ;;
      rpm) orch_run_captured rpm -U --replacepkgs "$(orch_abs "$orch_in_source")" ;;
      *) orch_die "package kind '$orch_in_kind' needs params.command on Linux" ;;
    esac
  fi
  orch_in_reboot=false
  if orch_code_in "$orch_rc" reboot_codes '' "$@"; then
    orch_in_reboot=true
  elif [ -e /var/run/reboot-required ] && [ "$orch_rc" -eq 0 ]; then
    orch_in_reboot=true
  fi
  if [ "$orch_in_reboot" = true ] || orch_code_in "$orch_rc" success_codes 0 "$@"; then
    orch_mark_set installed "$orch_in_package" "$orch_in_version" "$(orch_now)"
    orch_mark_set host last-install "$(orch_now)"
    [ "$orch_in_reboot" = true ] && orch_mark_set host reboot-pending "$(orch_now)"
  fi
  orch_out_apply "$orch_rc" "$orch_in_reboot" "$orch_rc_text"
}

orch_uninstall_state() {
  orch_need orch_up_package package "$@"
  if orch_installed_version "$orch_up_package" >/dev/null; then
    ORCH_DONE=false ORCH_DETAIL="$orch_up_package is installed"
  else
    ORCH_DONE=true ORCH_DETAIL="$orch_up_package is not installed"
  fi
}

orch_uninstall_probe() { orch_uninstall_state "$@"; orch_out_probe "$ORCH_DONE" "$ORCH_DETAIL"; }
orch_uninstall_verify() { orch_uninstall_state "$@"; orch_out_verify "$ORCH_DONE" "$ORCH_DETAIL"; }

orch_uninstall_apply() {
  orch_need orch_un_package package "$@"
  orch_get orch_un_command command "$@"
  if [ -n "$orch_un_command" ]; then
    ORCH_PACKAGE=$orch_un_package orch_run_captured sh -c "$orch_un_command"
  elif command -v dpkg-query >/dev/null 2>&1 &&
    dpkg-query -W -- "$orch_un_package" >/dev/null 2>&1; then
    orch_run_captured dpkg -r -- "$orch_un_package"
  elif command -v rpm >/dev/null 2>&1 && rpm -q -- "$orch_un_package" >/dev/null 2>&1; then
    orch_run_captured rpm -e -- "$orch_un_package"
  else
    orch_out_apply 1605 false "$orch_un_package is not installed"
    return 0
  fi
  [ "$orch_rc" -eq 0 ] && orch_mark_del installed "$orch_un_package"
  orch_out_apply "$orch_rc" false "$orch_rc_text"
}

orch_boot_id() {
  cat "${ORCH_BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}"
}

orch_boot_time() {
  awk '$1 == "btime" { print $2 }' /proc/stat
}

orch_reboot_state() {
  orch_get orch_rb_when when "$@"
  orch_rb_boot=$(orch_boot_time)
  if [ "$orch_rb_when" = always ]; then
    orch_rb_last=$(orch_mark_get host last-install)
    if [ "$orch_rb_boot" -gt "${orch_rb_last:-0}" ]; then ORCH_DONE=true; else ORCH_DONE=false; fi
    ORCH_DETAIL="booted at $orch_rb_boot, last install at ${orch_rb_last:-never}"
  else
    orch_rb_pending=$(orch_mark_get host reboot-pending)
    if [ -e /var/run/reboot-required ] || [ "${orch_rb_pending:-0}" -ge "$orch_rb_boot" ]; then
      ORCH_DONE=false ORCH_DETAIL='reboot pending'
    else
      ORCH_DONE=true ORCH_DETAIL='no reboot pending'
    fi
  fi
  ORCH_BOOT_JSON=", \"boot_id\": $(orch_json_str "$(orch_boot_id)")"
}

orch_reboot_probe() {
  orch_reboot_state "$@"
  orch_out_probe "$ORCH_DONE" "$ORCH_DETAIL" "$ORCH_BOOT_JSON"
}

orch_reboot_apply() {
  orch_get orch_rb_delay delay_s "$@"
  orch_get orch_rb_reason reason "$@"
  : "${orch_rb_delay:=5}"
  case $orch_rb_delay in *[!0-9]*) orch_die "delay_s must be a number" ;; esac
  orch_rb_before=$(orch_boot_id)
  orch_mark_set host reboot-requested "$orch_rb_before"
  orch_rb_cmd=${ORCH_REBOOT_CMD:-'systemctl reboot || shutdown -r now'}
  if command -v setsid >/dev/null 2>&1; then orch_rb_detach=setsid; else orch_rb_detach=nohup; fi
  $orch_rb_detach sh -c 'sleep "$1"; eval "$2"' orch-reboot "$orch_rb_delay" "$orch_rb_cmd" \
    </dev/null >/dev/null 2>&1 &
  orch_out_apply 0 false "reboot in $orch_rb_delay s ($orch_rb_reason)" \
    ", \"boot_id\": $(orch_json_str "$orch_rb_before")"
}

orch_reboot_verify() {
  orch_reboot_state "$@"
  if [ "$(orch_mark_get host reboot-requested)" = "$(orch_boot_id)" ]; then
    ORCH_DONE=false ORCH_DETAIL="the host has not restarted yet (boot id $(orch_boot_id))"
  fi
  orch_out_verify "$ORCH_DONE" "$ORCH_DETAIL" "$ORCH_BOOT_JSON"
}

orch_saved_copy() {
  mkdir -p "$ORCH_STATE/saved" || orch_die "cannot create $ORCH_STATE/saved"
  printf '%s/saved/%s' "$ORCH_STATE" "$(orch_hash "$1")"
}

orch_preserve_state() {
  orch_pf_since=$(orch_mark_get host last-install)
  orch_pf_missing=
  for orch_a do
    case $orch_a in
      files=*) orch_pf_at=$(orch_mark_get preserved "${orch_a#files=}")
        orch_pf_copy=$(orch_saved_copy "${orch_a#files=}")
        if [ ! -f "$orch_pf_copy" ] || [ -z "$orch_pf_at" ] ||
          [ "$orch_pf_at" -lt "${orch_pf_since:-0}" ]; then
          orch_pf_missing="$orch_pf_missing ${orch_a#files=}"
        fi ;;
    esac
  done
  if [ -n "$orch_pf_missing" ]; then ORCH_DONE=false ORCH_DETAIL="not saved:$orch_pf_missing"
  else ORCH_DONE=true ORCH_DETAIL='every file has a copy saved since the last install'; fi
}

orch_preserve_files_probe() {
  orch_preserve_state "$@"
  orch_out_probe "$ORCH_DONE" "$ORCH_DETAIL"
}
orch_preserve_files_verify() {
  orch_preserve_state "$@"
  orch_out_verify "$ORCH_DONE" "$ORCH_DETAIL"
}

orch_preserve_files_apply() {
  for orch_a do
    case $orch_a in
      files=*) orch_pf_path=${orch_a#files=}
        [ -f "$orch_pf_path" ] || orch_die "$orch_pf_path does not exist"
        orch_pf_copy=$(orch_saved_copy "$orch_pf_path")
        cp -p -- "$orch_pf_path" "$orch_pf_copy" || orch_die "cannot save $orch_pf_path"
        orch_mark_set preserved "$orch_pf_path" "$(orch_now)" ;;
    esac
  done
  orch_out_apply 0 false 'saved'
}

orch_restore_state() {
  orch_rf_differ=
  for orch_a do
    case $orch_a in
      files=*) orch_rf_path=${orch_a#files=}
        orch_rf_copy=$(orch_saved_copy "$orch_rf_path")
        if [ ! -f "$orch_rf_copy" ] || [ ! -f "$orch_rf_path" ] ||
          ! cmp -s -- "$orch_rf_copy" "$orch_rf_path"; then
          orch_rf_differ="$orch_rf_differ $orch_rf_path"
        fi ;;
    esac
  done
  if [ -n "$orch_rf_differ" ]; then
    ORCH_DONE=false ORCH_DETAIL="differs from the saved copy:$orch_rf_differ"
  else
    ORCH_DONE=true ORCH_DETAIL='every file equals its saved copy'
  fi
}

orch_restore_files_probe() { orch_restore_state "$@"; orch_out_probe "$ORCH_DONE" "$ORCH_DETAIL"; }
orch_restore_files_verify() {
  orch_restore_state "$@"
  orch_out_verify "$ORCH_DONE" "$ORCH_DETAIL"
}

orch_restore_files_apply() {
  set -- "$@" --
  for orch_a do
    case $orch_a in
      files=*) orch_rf_path=${orch_a#files=}
        [ -f "$(orch_saved_copy "$orch_rf_path")" ] || orch_die "no saved copy of $orch_rf_path" ;;
    esac
  done
  for orch_a do
    case $orch_a in
      files=*) orch_rf_path=${orch_a#files=}
        orch_rf_copy=$(orch_saved_copy "$orch_rf_path")
        cp -p -- "$orch_rf_copy" "$orch_rf_path" || orch_die "cannot restore $orch_rf_path"
        set -- "$@" "$orch_rf_path" ;;
    esac
  done
  while [ "$1" != -- ]; do shift; done
  shift
  orch_out_apply 0 false 'restored' ", \"files\": $(orch_file_facts "$@")"
}

orch_hook_key() {
  orch_get orch_hk_id @id "$@"
  [ -n "$orch_hk_id" ] || orch_need orch_hk_id name "$@"
  orch_get orch_hk_scope @scope "$@"
  [ -z "$orch_hk_scope" ] || orch_hk_id="$orch_hk_scope|$orch_hk_id"
}

orch_hook_probe() {
  orch_hook_key "$@"
  orch_hk_at=$(orch_mark_get hooks "$orch_hk_id")
  if [ -n "$orch_hk_at" ]; then
    orch_out_probe true "ran at $orch_hk_at"
  else
    orch_out_probe false 'not run yet'
  fi
}

orch_hook_apply() {
  orch_hook_key "$@"
  orch_need orch_hk_run run "$@"
  orch_run_captured sh -c "$orch_hk_run"
  [ "$orch_rc" -eq 0 ] && orch_mark_set hooks "$orch_hk_id" "$(orch_now)"
  orch_out_apply "$orch_rc" false "$orch_rc_text"
}

orch_hook_verify() {
  orch_hook_key "$@"
  orch_hk_at=$(orch_mark_get hooks "$orch_hk_id")
  if [ -n "$orch_hk_at" ]; then
    orch_out_verify true "ran at $orch_hk_at"
  else
    orch_out_verify false 'not run'
  fi
}
"""

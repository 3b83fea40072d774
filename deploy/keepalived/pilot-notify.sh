#!/bin/sh
# keepalived notify script for a Pilot rendezvous pair: on becoming MASTER (this node now
# holds the virtual IP), promote the local follower with `rendezvous promote`.
#
#   notify "/usr/local/lib/pilot/pilot-notify.sh /etc/default/pilot-keepalived"
#
# keepalived appends: INSTANCE|GROUP, the instance name, the new state
# (MASTER|BACKUP|FAULT|STOP|DELETED) and the priority. Every call records the state in
# $PILOT_KEEPALIVED_STATE_DIR/state; a pending promotion stops as soon as it is no
# longer MASTER.
#
# Promotion waits while the follower is still streaming from its leader: the leader is
# then alive, and the virtual IP arrived here for another reason (this keepalived
# started first, adverts were lost). Promoting would replace a healthy leader; instead
# the higher priority the leader gets from the "leader" check takes the virtual IP
# back. A killed leader's connection closes at once; a leader host that vanished is
# noticed by the follower after its read timeout (10 s without a keepalive).
set -u
env_file=${1:-/etc/default/pilot-keepalived}
[ $# -ge 4 ] || { echo "usage: pilot-notify.sh ENV_FILE INSTANCE NAME STATE [PRIORITY]" >&2; exit 2; }
state=$4
# shellcheck source=/dev/null
. "$env_file"
http=${PILOT_HTTP:-127.0.0.1:3000}
rendezvous=${PILOT_RENDEZVOUS:-/usr/local/bin/rendezvous}
state_dir=${PILOT_KEEPALIVED_STATE_DIR:-/run/pilot-keepalived}
max_wait=${PILOT_PROMOTE_MAX_WAIT:-60}
export PILOT_ADMIN_TOKEN  # for `rendezvous promote`: a token on the command line shows in ps

log() {
  if [ -n "${PILOT_KEEPALIVED_LOG:-}" ]; then
    echo "$(date -u +%H:%M:%S.%N | cut -c1-12) pilot-notify[$$]: $*" >>"$PILOT_KEEPALIVED_LOG"
  else
    logger -t pilot-notify -- "$*" 2>/dev/null || true
  fi
}

mkdir -p "$state_dir"
echo "$state" >"$state_dir/state.$$" && mv -f "$state_dir/state.$$" "$state_dir/state"
log "$2 is now $state"
[ "$state" = MASTER ] || exit 0

still_master() { [ "$(cat "$state_dir/state" 2>/dev/null)" = MASTER ]; }

deadline=$(($(date +%s) + max_wait))
waited=0
while still_master; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "ERROR: not promoted after ${max_wait}s (see above); the virtual IP is on a node that is not the leader"
    exit 1
  fi
  body=$(curl -s -m 1 "http://$http/readyz") || body=""
  case $body in
    *'"role":"leader"'*)
      log "already the leader: nothing to promote"
      exit 0
      ;;
    *'"role":"follower"'*)
      case $body in
        *'"streaming":true'*)
          [ $waited -eq 1 ] || log "the follower still streams from a live leader: not promoting while it does"
          waited=1
          ;;
        *)
          out=$("$rendezvous" promote --http "$http" --timeout 5s 2>&1)
          rc=$?
          log "rendezvous promote: exit $rc: $out"
          case $rc in
            0) exit 0 ;;
            1 | 2) exit 1 ;;  # refused (fenced, bad token) or misconfigured: retrying will not help
          esac
          ;;
      esac
      ;;
    *)
      [ $waited -eq 2 ] || log "no answer from http://$http/readyz: retrying"
      waited=2
      ;;
  esac
  sleep 0.2
done
log "no longer MASTER: not promoting"

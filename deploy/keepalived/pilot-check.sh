#!/bin/sh
# keepalived vrrp_script for a Pilot rendezvous pair: asks the local server's /readyz.
#
#   pilot-check.sh ENV_FILE alive   exit 0 unless this node must not hold the virtual IP:
#                                   no answer, shutting down, or a leader that has been
#                                   fenced (a newer leader exists). A follower passes even
#                                   when it has lost its leader: it is the one to take over.
#   pilot-check.sh ENV_FILE leader  exit 0 only for the ready leader (keepalived adds the
#                                   script's weight, so the virtual IP follows the leader).
#
# ENV_FILE is a shell fragment (see pilot-keepalived.env.example): PILOT_HTTP.
set -u
env_file=${1:-/etc/default/pilot-keepalived}
mode=${2:-alive}
# shellcheck source=/dev/null
. "$env_file"
http=${PILOT_HTTP:-127.0.0.1:3000}

# /readyz answers JSON with "ready" and "role" (200 ready, 503 with a reason); curl
# exits 0 for both, so the body decides. No answer within a second is a failure.
body=$(curl -s -m 1 "http://$http/readyz") || exit 1

case $mode in
  leader)
    case $body in *'"role":"leader"'*) ;; *) exit 1 ;; esac
    case $body in *'"ready":true'*) exit 0 ;; *) exit 1 ;; esac
    ;;
  alive)
    case $body in *'"ready":true'*) exit 0 ;; esac
    case $body in *'"role":"follower"'*) exit 0 ;; esac
    exit 1
    ;;
  *)
    echo "pilot-check.sh: unknown mode '$mode' (alive or leader)" >&2
    exit 2
    ;;
esac

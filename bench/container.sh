#!/bin/sh
# knext-bench's image configurations (image:*) go through this script:
#   container.sh exists IMAGE   exit 0 when the image is there
#   container.sh run IMAGE      podman run, in the foreground, as Knative runs a pod: read-only
#                               root, uid 10001, tmpfs /tmp and the emptyDirs, PORT and
#                               KNEXT_PROBE_PORT from the environment, host network (loopback)
#   container.sh rm             remove the container the run made (named after $PORT)
# PODMAN is podman with its global flags (the Makefile's PODMAN).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${PODMAN:=$(make -s --no-print-directory -C "$top" print-podman)}"
name=knext-bench-${PORT:-0}

case ${1:-} in
exists)
	exec $PODMAN image exists "$2"
	;;
run)
	# HOSTNAME as Next's own image sets it; knext-init sets it itself. No start-up datagram:
	# the host's network is shared.
	exec $PODMAN run --name "$name" --network=host --read-only --user 10001:10001 \
		--tmpfs /tmp:mode=1777 --tmpfs /app/.next/cache:mode=0777 \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		-e PORT -e KNEXT_PROBE_PORT -e HOSTNAME=0.0.0.0 -e KNEXT_ANNOUNCE=0 "$2"
	;;
rm)
	exec $PODMAN rm -f -t 0 "$name" >/dev/null 2>&1
	;;
*)
	echo "usage: container.sh exists IMAGE | run IMAGE | rm" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# compare.sh: measure Gannet side by side with its peers on this machine and
# write docs/benchmarks.md (plus docs/bench/*.svg).
#
# It installs the peers from Debian (rabbitmq-server, redis-server,
# nats-server), starts each on loopback with private ports and data
# directories, starts Gannet the same way, runs the matched workloads of
# gannet-bench in turn, stops everything it started, and renders the report.
# Before any broker starts it measures the disk's sequential fdatasync
# bandwidth in Gannet's data directory (gannet-bench disk) for the report.
# A Gannet listener that does not answer is recorded as "not available yet";
# the peers are measured regardless.
#
# Usage: scripts/bench/compare.sh [--quick] [--out FILE] [--results DIR] [--only REGEX]
#   --quick      short runs, a 100k backlog and a 256 MB restart (minutes, not an hour)
#   --out        markdown to write (default docs/benchmarks.md)
#   --results    keep the JSON results here (default: a temporary directory)
#   --only       run only the scenarios whose name matches REGEX (e.g. 'peak|rate')
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
QUICK=0
OUT="$ROOT/docs/benchmarks.md"
RESULTS=""
ONLY="."
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	--results) RESULTS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	*) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
	esac
	shift
done

# The script changes to $ROOT before it writes either, so relative paths
# are taken from where it was started, now.
OUT=$(realpath -m -- "$OUT")
[ -z "$RESULTS" ] || RESULTS=$(realpath -m -- "$RESULTS")

WORK=$(mktemp -d /tmp/gannet-compare.XXXXXX)
RESULTS=${RESULTS:-$WORK/results}
mkdir -p "$RESULTS"
BENCH=$WORK/gannet-bench
log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Private loopback ports, away from every default so nothing else collides,
# and below the ephemeral range (32768-60999), where a client socket in
# TIME-WAIT from an earlier run can hold the port and fail the listen.
RABBIT_PORT=24672 RABBIT_DIST_PORT=24673 EPMD_PORT=24369
REDIS_EVERYSEC_PORT=26379 REDIS_ALWAYS_PORT=26380
NATS_PORT=24222
G_AMQP=127.0.0.1:25672 G_KAFKA=127.0.0.1:29092 G_REDIS=127.0.0.1:26479 G_SQS=127.0.0.1:29324 G_HTTP=127.0.0.1:25673

if [ $QUICK = 1 ]; then
	RUN=5s BACKLOG=100000 RESTART_BYTES=$((256 << 20))
else
	RUN=30s BACKLOG=1000000 RESTART_BYTES=$((10 << 30))
fi
FILL_SIZE=65536

# ---- process bookkeeping: every pid started here, and only those, is stopped.
declare -A PID=()
stop_pid() { # name: TERM the process and block until it is gone
	local name=$1 pid=${PID[$1]:-}
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		timeout 60 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	unset "PID[$name]"
}
cleanup() {
	for name in "${!PID[@]}"; do stop_pid "$name"; done
	if [ -n "${EPMD_STARTED:-}" ]; then ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1 || true; fi
	if [ -n "${POLICY_CREATED:-}" ]; then rm -f /usr/sbin/policy-rc.d; fi
	# The brokers' data directories hold gigabytes after a full run (a
	# million-message backlog per system): remove them, keep the logs and
	# results. RabbitMQ keeps its data in rabbitmq/mnesia and its own logs
	# beside it in rabbitmq/log.
	find "$WORK" -mindepth 1 -maxdepth 1 -type d ! -path "$RESULTS" ! -path "$WORK/rabbitmq" -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$WORK/rabbitmq/mnesia"
}
trap cleanup EXIT

# ---- installation
install_peers() {
	if command -v redis-server >/dev/null && command -v nats-server >/dev/null && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
		return
	fi
	log "installing rabbitmq-server redis-server nats-server from Debian"
	# Keep the packages' own services from starting on the default ports.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		POLICY_CREATED=1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server redis-server nats-server >/dev/null
}

# ---- brokers. Each start_* sets PID[name]; ready_* waits until it serves.
await() { # protocol addr: block until the broker answers its protocol
	"$BENCH" await "$1" --addr "$2" --timeout "${3:-120s}" >/dev/null 2>&1
}

start_redis() { # name port fsync
	mkdir -p "$WORK/$1"
	redis-server --port "$2" --bind 127.0.0.1 --dir "$WORK/$1" --appendonly yes --appendfsync "$3" \
		--save '' --daemonize no >"$WORK/$1.log" 2>&1 &
	PID[$1]=$!
}

rabbit_env() {
	export HOME=$WORK/rabbitmq RABBITMQ_NODENAME=gannetbench@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_NODE_PORT=$RABBIT_PORT RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
	export RABBITMQ_MNESIA_BASE=$WORK/rabbitmq/mnesia RABBITMQ_LOG_BASE=$WORK/rabbitmq/log
	export RABBITMQ_PID_FILE=$WORK/rabbitmq/rabbit.pid RABBITMQ_ENABLED_PLUGINS_FILE=$WORK/rabbitmq/enabled_plugins
	export RABBITMQ_CONFIG_FILE=$WORK/rabbitmq/rabbitmq
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}
start_rabbitmq() {
	mkdir -p "$WORK/rabbitmq"
	echo '[].' >"$WORK/rabbitmq/enabled_plugins"
	echo 'loopback_users = none' >"$WORK/rabbitmq/rabbitmq.conf"
	rm -f "$WORK/rabbitmq/rabbit.pid"
	(rabbit_env; exec /usr/lib/rabbitmq/bin/rabbitmq-server) >"$WORK/rabbitmq.log" 2>&1 &
	EPMD_STARTED=1
	(rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl wait --timeout 120 "$RABBITMQ_PID_FILE") >/dev/null
	PID[rabbitmq]=$(cat "$WORK/rabbitmq/rabbit.pid")
}

start_nats() {
	mkdir -p "$WORK/nats"
	nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
	PID[nats]=$!
}

GANNET_BIN=""
start_gannet() {
	[ -n "$GANNET_BIN" ] || return 0
	mkdir -p "$WORK/gannet"
	"$GANNET_BIN" serve --data-dir "$WORK/gannet" --amqp-addr "$G_AMQP" --kafka-addr "$G_KAFKA" \
		--redis-addr "$G_REDIS" --sqs-addr "$G_SQS" --http-addr "$G_HTTP" >"$WORK/gannet.log" 2>&1 &
	PID[gannet]=$!
	sleep 1 # give the listeners a moment; each measurement still probes its own
}

# ---- one measurement
# settle_disk starts each measurement on a quiet disk. The brokers share
# one disk and keep running between rows, and the peers write through the
# page cache: without this, the writeback of what the previous row's system
# wrote (and NATS's periodic stream sync) lands in the next row and stalls
# its fsyncs for 50-200 ms. sync writes everyone's dirty pages now; then
# wait, at most 20 s, until the disk writes less than 1 MiB in half a second.
DISK_DEV=""
settle_disk() {
	sync
	[ -n "$DISK_DEV" ] || return 0
	local before after i
	for i in $(seq 40); do
		before=$(awk -v d="$DISK_DEV" '$3 == d {print $10}' /proc/diskstats)
		sleep 0.5
		after=$(awk -v d="$DISK_DEV" '$3 == d {print $10}' /proc/diskstats)
		[ -n "$before" ] && [ -n "$after" ] || return 0
		if [ $((after - before)) -lt 2048 ]; then
			[ "$i" -gt 1 ] && log "disk quiet after $((i / 2)) s"
			return 0
		fi
	done
	log "disk still busy after 20 s; measuring anyway"
}

SEQ=0
measure() { # workload system protocol addr pidname [gannet-bench flags...]
	local workload=$1 system=$2 proto=$3 addr=$4 pidname=$5
	shift 5
	SEQ=$((SEQ + 1))
	local file
	file=$(printf '%s/%03d-%s-%s.json' "$RESULTS" "$SEQ" "$workload" "$system")
	local pid=${PID[$pidname]:-}
	if [ -z "$pid" ] || ! await "$proto" "$addr" 5s; then
		log "$workload $system: $proto on $addr not available"
		"$BENCH" unavailable --json "$file" --workload "$workload" --system "$system" --protocol "$proto" \
			--addr "$addr" --reason "not available yet" >/dev/null
		return 0
	fi
	settle_disk
	log "$workload $system ($proto $addr) $*"
	"$BENCH" "$proto" --addr "$addr" --broker-pid "$pid" --workload "$workload" --system "$system" \
		--prefix "b$SEQ" --json "$file" "$@" >&2 || log "$workload $system failed; the error is in its row"
}

# Matched pairs: Gannet on a protocol against the peers that speak it.
# Each entry: system protocol address pid-name.
AMQP_SYSTEMS=("gannet amqp $G_AMQP gannet" "rabbitmq amqp 127.0.0.1:$RABBIT_PORT rabbitmq")
REDIS_SYSTEMS=("gannet redis $G_REDIS gannet" "redis-everysec redis 127.0.0.1:$REDIS_EVERYSEC_PORT redis-everysec"
	"redis-always redis 127.0.0.1:$REDIS_ALWAYS_PORT redis-always")
LOG_SYSTEMS=("gannet kafka $G_KAFKA gannet" "nats-jetstream nats 127.0.0.1:$NATS_PORT nats")
SQS_SYSTEMS=("gannet sqs $G_SQS gannet")

scenario() { # name family [flags...]: run the flags against every system of the family
	local name=$1 family=$2
	shift 2
	[[ $name =~ $ONLY ]] || return 0
	local -n systems=${family}_SYSTEMS
	for entry in "${systems[@]}"; do
		read -r system proto addr pidname <<<"$entry"
		measure "$name" "$system" "$proto" "$addr" "$pidname" "$@"
	done
}

restart_case() { # family system protocol addr pidname start-command...
	local family=$1 system=$2 proto=$3 addr=$4 pidname=$5
	shift 5
	local name="$family-restart"
	[[ $name =~ $ONLY ]] || return 0
	if [ -z "${PID[$pidname]:-}" ] || ! await "$proto" "$addr" 5s; then
		measure "$name" "$system" "$proto" "$addr" "$pidname"
		return 0
	fi
	local count=$((RESTART_BYTES / FILL_SIZE))
	log "$name $system: writing $count × $FILL_SIZE B, then restarting"
	"$BENCH" "$proto" --addr "$addr" --broker-pid "${PID[$pidname]}" --size $FILL_SIZE --count $count \
		--consumers 0 --inflight 64 --prefix "fill$SEQ" --workload "$name-fill" --system "$system" >&2 || true
	stop_pid "$pidname"
	local since
	since=$(date +%s%N)
	"$@"
	SEQ=$((SEQ + 1))
	"$BENCH" await "$proto" --addr "$addr" --since-unix-nano "$since" --timeout 30m --workload "$name" \
		--system "$system" --json "$(printf '%s/%03d-%s-%s.json' "$RESULTS" "$SEQ" "$name" "$system")" >&2 || true
}

# ---- main
cd "$ROOT"
install_peers
log "building gannet-bench"
go build -o "$BENCH" ./cmd/gannet-bench
if [ -d cmd/gannet ] && mkdir -p "$WORK/bin" && go build -o "$WORK/bin/gannet" ./cmd/gannet 2>"$WORK/gannet-build.log"; then
	GANNET_BIN=$WORK/bin/gannet
else
	log "cmd/gannet does not build yet: every Gannet row will say not available"
fi

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# The disk's sequential fdatasync bandwidth where Gannet keeps its data
# (start_gannet's --data-dir), measured before any broker runs: the ceiling
# the report's log-peak bar compares Gannet's MB/s with. The bar uses 64 KiB
# writes, the method behind the BRIEF's "about 316 MB/s" (the reference's
# table: preallocated file, 64 KiB + fdatasync, 300-420 MB/s), a group
# commit's size; 1 MiB writes, the most the disk takes, are measured and
# reported beside it. The same size in --quick mode, so the figures are
# comparable between modes.
mkdir -p "$WORK/gannet"
# The whole disk behind the data directory, as /proc/diskstats names it
# (a partition's writes count there too).
DISK_DEV=$(lsblk -no pkname "$(df --output=source "$WORK/gannet" | tail -1)" 2>/dev/null | head -1)
[ -n "$DISK_DEV" ] || DISK_DEV=$(basename "$(df --output=source "$WORK/gannet" | tail -1)")
grep -q " $DISK_DEV " /proc/diskstats || DISK_DEV=""
DISK_MBPS=null DISK_JSON=null DISK_LARGE_JSON=null
DISK_FS=$(stat -f -c %T "$WORK/gannet" 2>/dev/null || echo unknown)
log "measuring sequential fdatasync bandwidth in $WORK/gannet ($DISK_FS)"
if "$BENCH" disk -dir "$WORK/gannet" -size 256MiB -block 64KiB -json "$WORK/disk.json" >&2; then
	DISK_JSON=$(cat "$WORK/disk.json")
	DISK_MBPS=$(sed -n 's/^ *"mb_per_sec": *\([0-9.eE+-]*\),\{0,1\}$/\1/p' "$WORK/disk.json")
	DISK_MBPS=${DISK_MBPS:-null}
else
	log "disk measurement failed: the disk bar will say not measured"
fi
if "$BENCH" disk -dir "$WORK/gannet" -size 256MiB -block 1MiB -json "$WORK/disk-large.json" >&2; then
	DISK_LARGE_JSON=$(cat "$WORK/disk-large.json")
fi

start_gannet
start_redis redis-everysec $REDIS_EVERYSEC_PORT everysec
start_redis redis-always $REDIS_ALWAYS_PORT always
start_nats
start_rabbitmq
await redis 127.0.0.1:$REDIS_EVERYSEC_PORT
await redis 127.0.0.1:$REDIS_ALWAYS_PORT
await nats 127.0.0.1:$NATS_PORT
await amqp 127.0.0.1:$RABBIT_PORT

HEADLINE=(--size 1024 --producers 1 --consumers 1 --inflight 256 --prefetch 200 --ack-every 50 --duration $RUN)
for family in AMQP REDIS LOG; do
	f=${family,,}
	scenario "$f-peak" $family "${HEADLINE[@]}"
done
# The AMQP rows use the load generator's own client (amqpclient), which
# leaves the CPU to the broker; the same workload with amqp091-go, for
# every AMQP system alike, shows what a stock Go client sees.
scenario "amqp-peak-amqp091" AMQP "${HEADLINE[@]}" --amqp-client amqp091
# Kafka's issue measures sixteen partitions too (NATS gets one stream either way).
scenario "log-peak-16" LOG "${HEADLINE[@]}" --partitions 16
# SQS moves 10 messages per request and a consumer waits for each
# DeleteMessageBatch, so the issue's "a few concurrent workers" are needed:
# 2 producers with 4 batches each in flight, 8 consumers.
scenario "sqs-peak" SQS --size 1024 --producers 2 --consumers 8 --inflight 40 --duration $RUN
for family in AMQP REDIS LOG; do
	f=${family,,}
	for rate in 1000 5000 20000; do
		scenario "$f-rate-$((rate / 1000))k" $family --rate $rate --duration $RUN --drain-timeout 10s
	done
	for n in 1 8 64; do
		scenario "$f-sync-$n" $family --producers $n --inflight 1 --duration $RUN --drain-timeout 10s
	done
	scenario "$f-fanout-5" $family --groups 5 --duration $RUN --inflight 256
	scenario "$f-queues-1000" $family --queues 1000 --producers 4 --consumers 4 --inflight 64 --duration $RUN
	scenario "$f-backlog" $family --count $BACKLOG --backlog --inflight 256 --drain-timeout 30m --sample-interval 500ms
done

restart_case amqp gannet amqp "$G_AMQP" gannet start_gannet
restart_case amqp rabbitmq amqp 127.0.0.1:$RABBIT_PORT rabbitmq start_rabbitmq
restart_case redis gannet redis "$G_REDIS" gannet start_gannet
restart_case redis redis-everysec redis 127.0.0.1:$REDIS_EVERYSEC_PORT redis-everysec start_redis redis-everysec $REDIS_EVERYSEC_PORT everysec
restart_case log gannet kafka "$G_KAFKA" gannet start_gannet
restart_case log nats-jetstream nats 127.0.0.1:$NATS_PORT nats start_nats

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
cat >"$RESULTS/environment.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "quick": $([ $QUICK = 1 ] && echo true || echo false),
  "versions": {"rabbitmq-server": "$(version rabbitmq-server)", "erlang": "$(version erlang-base)",
               "redis-server": "$(version redis-server)", "nats-server": "$(version nats-server)"},
  "disk_fdatasync_mbps": $DISK_MBPS,
  "disk": $DISK_JSON,
  "disk_large": $DISK_LARGE_JSON,
  "notes": ["Load average when the run began: $LOAD (the machine is shared; figures are single runs).",
            "Restart rows: $((RESTART_BYTES >> 20)) MiB written in $FILL_SIZE-byte messages before the restart.",
            "RabbitMQ: classic durable queues; Redis: appendonly yes with appendfsync everysec and always; NATS: JetStream file storage (no fsync before ack in 2.9).",
            "Gannet's data directory, where the disk bandwidth was measured, has filesystem type $DISK_FS (stat -f).",
            "No SQS peer is packaged for Debian, so SQS rows measure Gannet alone.",
            "Payloads are random bytes (random letters for SQS), so no layer can compress them, and Kafka producers send uncompressed batches."]
}
JSON
mkdir -p "$(dirname "$OUT")"
"$BENCH" report --in "$RESULTS" --out "$OUT"
log "wrote $OUT (results in $RESULTS)"

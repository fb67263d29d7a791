#!/usr/bin/env bash
# Apache Kafka in KRaft mode, assembled from Maven Central jars and run with the machine's
# Java 17: one broker, or with KAFKA_NODES=N a cluster of N combined broker+controller nodes
# on this machine. The same script serves `./p7 kafka:start|stop|status`, the tests, the
# benchmarks and the Docker image (`run`, in the foreground).
#
#   kafka.sh fetch          download the broker jars (once per version)
#   kafka.sh start          start the nodes that are down in the background, wait until
#                           each serves requests (a node killed is brought back this way)
#   kafka.sh stop           stop the nodes cleanly (SIGTERM, then wait)
#   kafka.sh run            run one node in the foreground (formats storage on first start)
#   kafka.sh status         one line per node; exit 0 when every node answers on its port
#   kafka.sh brokers        the nodes' client addresses, as KAFKA_BROKERS takes them
#   kafka.sh tools          download Kafka's perf tools, print their classpath
#
# Environment (all optional):
#   KAFKA_VERSION   broker version (default: the one in kafka/pom.xml)
#   KAFKA_TOOLS_VERSION  perf tools version (default: KAFKA_VERSION, or for the pom's broker
#                   the pom's kafka.tools.version, since kafka-tools lags broker releases)
#   KAFKA_NODES     nodes in the cluster (default 1). Node i (1..N) serves clients on
#                   KAFKA_PORT + 2(i-1) and its controller on the port after that; all are
#                   voters. With N >= 3 internal topics get replication factor 3 and
#                   min.insync.replicas 2.
#   KAFKA_NODE      act on node i only (start, stop, status; `run` needs it when N > 1)
#   KAFKA_CLUSTER_ID  the cluster id every node is formatted with (default: random, kept in
#                   the state folder so that all nodes share it)
#   KAFKA_PORT      client port of node 1 (default 9092); its controller uses KAFKA_PORT + 1
#   KAFKA_HOST      address to listen on (default 127.0.0.1)
#   KAFKA_ADVERTISED_HOST  address clients are told to use (default KAFKA_HOST, or
#                   localhost when KAFKA_HOST is 0.0.0.0)
#   P7_KAFKA_HOME   where the downloaded jars are kept (default <repo>/.kafka)
#   P7_KAFKA_STATE  where data, log, config and pid live (default P7_KAFKA_HOME/VERSION-PORT;
#                   node i of a cluster in its node-i/ subfolder)
#   KAFKA_HEAP_OPTS JVM heap flags (default -Xms256m -Xmx1g; -Xms128m -Xmx512m per node
#                   of a cluster)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"
default_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)
version=${KAFKA_VERSION:-$default_version}
base_port=${KAFKA_PORT:-9092}
nodes=${KAFKA_NODES:-1}
host=${KAFKA_HOST:-127.0.0.1}
if [ -n "${KAFKA_ADVERTISED_HOST:-}" ]; then advertised=$KAFKA_ADVERTISED_HOST
elif [ "$host" = 0.0.0.0 ]; then advertised=localhost
else advertised=$host
fi
home=${P7_KAFKA_HOME:-$(dirname "$here")/.kafka}
jars="$home/jars/$version"
base_state=${P7_KAFKA_STATE:-$home/$version-$base_port}

die() { echo "error: $*" >&2; exit 1; }

[[ $nodes =~ ^[1-9][0-9]?$ ]] || die "KAFKA_NODES must be a number of nodes from 1 to 99, not \"$nodes\""
if [ -n "${KAFKA_NODE:-}" ]; then
  [[ $KAFKA_NODE =~ ^[0-9]+$ ]] && ((KAFKA_NODE >= 1 && KAFKA_NODE <= nodes)) ||
    die "KAFKA_NODE must be a node from 1 to $nodes, not \"$KAFKA_NODE\""
  selected=("$KAFKA_NODE")
else
  selected=($(seq 1 "$nodes"))
fi
# Every node votes: the quorum is a majority of the nodes.
voters=$(for i in $(seq 1 "$nodes"); do printf '%s%d@%s:%d' "$([ "$i" = 1 ] || echo ,)" "$i" "$advertised" $((base_port + 2 * (i - 1) + 1)); done)
internal_rf=$((nodes < 3 ? nodes : 3))
internal_isr=$((nodes < 3 ? 1 : 2))

# Sets the variables of node $1: its ports, folders and files.
use_node() {
  node=$1
  port=$((base_port + 2 * (node - 1)))
  controller_port=$((port + 1))
  if ((nodes == 1)); then state=$base_state; else state="$base_state/node-$node"; fi
  data="$state/data"
  log="$state/server.log"
  pidfile="$state/server.pid"
  props="$state/server.properties"
}

# True when something accepts TCP connections on the node's client port.
listening() { (exec 3<>"/dev/tcp/$advertised/$port") 2>/dev/null; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

mvn_fetch() { # version output-dir [extra maven args...]
  local release=$1 out=$2
  shift 2
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Kafka $release jars"
  command -v java >/dev/null || die "Java 17 is needed to run Kafka"
  mkdir -p "$out.tmp"
  echo "Fetching Kafka $release jars from Maven Central into $out" >&2
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -Dkafka.version="$release" \
    -DoutputDirectory="$out.tmp" "$@" >&2 ||
    die "could not fetch Kafka $release from Maven Central (is $release released?)"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

fetch() {
  if ! compgen -G "$jars/kafka_2.13-*.jar" >/dev/null; then
    mvn_fetch "$version" "$jars"
  fi
}

write_props() {
  mkdir -p "$data"
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$advertised:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=$internal_rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$internal_rf
transaction.state.log.min.isr=$internal_isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$internal_rf
share.coordinator.state.topic.min.isr=$internal_isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
}

# Sets the array JAVA to the java command line for a main class and its arguments.
java_cmd() {
  local heap default_heap="-Xms256m -Xmx1g"
  ((nodes == 1)) || default_heap="-Xms128m -Xmx512m"
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:-$default_heap}"
  JAVA=(java "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.showDateTime=true
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS"
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn
    -cp "$jars/*" "$@")
}

# A random base64url UUID; one starting with "-" would read as a flag to the tool.
random_id() {
  local id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22); done
  echo "$id"
}

# The cluster id: KAFKA_CLUSTER_ID, or one made for this state folder and kept, so that
# every node of a cluster is formatted with the same.
cluster_id() {
  if [ -n "${KAFKA_CLUSTER_ID:-}" ]; then echo "$KAFKA_CLUSTER_ID"; return; fi
  local file="$base_state/cluster.id"
  [ -s "$file" ] || { mkdir -p "$base_state" && random_id >"$file"; }
  cat "$file"
}

# Formats the node's storage the first time only, so a restart keeps its topics.
format() {
  [ -f "$data/meta.properties" ] && return 0
  local id
  id=$(cluster_id)
  echo "Formatting $data (cluster $id, node $node of $nodes)" >&2
  java_cmd kafka.tools.StorageTool format -t "$id" -c "$props"
  "${JAVA[@]}" >>"$log" 2>&1 ||
    die "formatting Kafka storage failed; see $log"
}

prepare() {
  fetch
  mkdir -p "$state"
  write_props
  format
}

where() { echo "$advertised:$port"; }
# " node N" in messages about a cluster's node; nothing for a single broker.
label() { ((nodes == 1)) || echo " node $node"; }

start() {
  local launched=() started=$SECONDS pid
  for i in "${selected[@]}"; do
    use_node "$i"
    if pid=$(running_pid); then
      echo "Kafka $version$(label) already running (pid $pid) on $(where); log: $log"
      continue
    fi
    if listening; then
      echo "A broker already listens on $(where); not starting$(label)"
      continue
    fi
    prepare
    echo "Starting Kafka $version$(label) on $(where); log: $log"
    java_cmd kafka.Kafka "$props"
    # setsid: the broker outlives the shell (and the Ctrl-C) that started it.
    setsid "${JAVA[@]}" >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    launched+=("$i")
  done
  # All at once, then wait: a node of a cluster serves only once a majority of voters runs.
  for i in "${launched[@]}"; do
    use_node "$i"
    pid=$(cat "$pidfile")
    while ! { grep -q 'Kafka Server started' "$log" 2>/dev/null && listening; }; do
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$log" >&2
        die "Kafka$(label) exited during start; see $log"
      fi
      ((SECONDS - started < 90)) || die "Kafka$(label) did not start within 90 s; see $log"
      sleep 0.2
    done
    echo "Kafka $version$(label) ready on $(where) in $((SECONDS - started)) s (pid $pid)"
  done
}

stop() {
  local stopping=() waited=0 entry pid
  for i in "${selected[@]}"; do
    use_node "$i"
    if ! pid=$(running_pid); then
      rm -f "$pidfile"
      echo "Kafka $version$(label) on port $port is not running"
      continue
    fi
    kill -TERM "$pid"
    stopping+=("$i:$pid")
  done
  for entry in "${stopping[@]}"; do
    use_node "${entry%%:*}"
    pid=${entry#*:}
    while kill -0 "$pid" 2>/dev/null; do
      if ((waited == 600)); then
        echo "Kafka$(label) did not stop within 60 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    rm -f "$pidfile"
    echo "Kafka $version$(label) stopped (pid $pid)"
  done
}

run() {
  ((${#selected[@]} == 1)) || die "run starts one node: set KAFKA_NODE (1 to $nodes)"
  use_node "${selected[0]}"
  log=/dev/stdout
  prepare
  java_cmd kafka.Kafka "$props"
  exec "${JAVA[@]}"
}

status() {
  local down=0 pid
  for i in "${selected[@]}"; do
    use_node "$i"
    if listening; then
      echo "node $node: up on $(where)$(pid=$(running_pid) && echo " (pid $pid)")"
    else
      echo "node $node: down ($(where))"
      down=$((down + 1))
    fi
  done
  ((down == 0))
}

tools() {
  local release=${KAFKA_TOOLS_VERSION:-$version}
  if [ -z "${KAFKA_TOOLS_VERSION:-}" ] && [ "$version" = "$default_version" ]; then
    release=$(sed -n 's:.*<kafka.tools.version>\(.*\)</kafka.tools.version>.*:\1:p' "$pom" | head -n 1)
  fi
  local out="$home/jars/$release-tools"
  if ! compgen -G "$out/kafka-tools-*.jar" >/dev/null; then
    # Every jar of one release, the broker's included, so no two versions of a library mix.
    mvn_fetch "$release" "$out" -Ptools -Dkafka.tools.version="$release"
  fi
  echo "$out/*"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  run) run ;;
  status) status ;;
  brokers) for i in $(seq 1 "$nodes"); do use_node "$i"; printf '%s%s' "$([ "$i" = 1 ] || echo ,)" "$(where)"; done; echo ;;
  tools) tools ;;
  *) die "usage: kafka.sh fetch|start|stop|run|status|brokers|tools" ;;
esac

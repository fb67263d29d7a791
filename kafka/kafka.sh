#!/usr/bin/env bash
# A single-node Apache Kafka broker in KRaft mode, assembled from Maven Central jars and run
# with the machine's Java 17. The same script serves `deno task kafka:start|stop`, the tests,
# the benchmarks and the Docker image (`run`, in the foreground).
#
#   kafka.sh fetch          download the broker jars (once per version)
#   kafka.sh start          start in the background, wait until it serves requests
#   kafka.sh stop           stop cleanly (SIGTERM, then wait)
#   kafka.sh run            run in the foreground (formats storage on first start)
#   kafka.sh status         exit 0 when the broker answers on its port
#   kafka.sh tools          download Kafka's perf tools, print their classpath
#
# Environment (all optional):
#   KAFKA_VERSION   broker version (default: the one in kafka/pom.xml)
#   KAFKA_TOOLS_VERSION  perf tools version (default: KAFKA_VERSION, or for the pom's broker
#                   the pom's kafka.tools.version, since kafka-tools lags broker releases)
#   KAFKA_PORT      client port (default 9092); the controller uses KAFKA_PORT + 1
#   KAFKA_HOST      address to listen on (default 127.0.0.1)
#   KAFKA_ADVERTISED_HOST  address clients are told to use (default KAFKA_HOST, or
#                   localhost when KAFKA_HOST is 0.0.0.0)
#   P7_KAFKA_HOME   where the downloaded jars are kept (default <repo>/.kafka)
#   P7_KAFKA_STATE  where data, log, config and pid live (default P7_KAFKA_HOME/VERSION-PORT)
#   KAFKA_HEAP_OPTS JVM heap flags (default -Xms256m -Xmx1g)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"
default_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)
version=${KAFKA_VERSION:-$default_version}
port=${KAFKA_PORT:-9092}
controller_port=$((port + 1))
host=${KAFKA_HOST:-127.0.0.1}
if [ -n "${KAFKA_ADVERTISED_HOST:-}" ]; then advertised=$KAFKA_ADVERTISED_HOST
elif [ "$host" = 0.0.0.0 ]; then advertised=localhost
else advertised=$host
fi
home=${P7_KAFKA_HOME:-$(dirname "$here")/.kafka}
jars="$home/jars/$version"
state=${P7_KAFKA_STATE:-$home/$version-$port}
data="$state/data"
log="$state/server.log"
pidfile="$state/server.pid"
props="$state/server.properties"

die() { echo "error: $*" >&2; exit 1; }

# True when something accepts TCP connections on the client port.
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
node.id=1
controller.quorum.voters=1@$advertised:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$advertised:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
}

# Sets the array JAVA to the java command line for a main class and its arguments.
java_cmd() {
  local heap
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  JAVA=(java "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.showDateTime=true
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS"
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn
    -cp "$jars/*" "$@")
}

# Formats the storage folder the first time only, so a restart keeps its topics.
format() {
  [ -f "$data/meta.properties" ] && return 0
  local id
  # A random base64url UUID; one starting with "-" would read as a flag to the tool.
  id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22); done
  echo "Formatting $data (cluster $id)" >&2
  java_cmd kafka.tools.StorageTool format -t "$id" -c "$props"
  "${JAVA[@]}" >>"$log" 2>&1 ||
    die "formatting Kafka storage failed; see $log"
}

prepare() {
  fetch
  write_props
  format
}

start() {
  if pid=$(running_pid); then
    echo "Kafka $version already running (pid $pid) on $advertised:$port; log: $log"
    return 0
  fi
  if listening; then
    echo "A broker already listens on $advertised:$port; not starting another"
    return 0
  fi
  mkdir -p "$state"
  prepare
  echo "Starting Kafka $version on $advertised:$port; log: $log"
  local started=$SECONDS
  # setsid: the broker outlives the shell (and the Ctrl-C) that started it.
  java_cmd kafka.Kafka "$props"
  setsid "${JAVA[@]}" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local pid=$!
  while ! { grep -q 'Kafka Server started' "$log" 2>/dev/null && listening; }; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "Kafka exited during start; see $log"
    fi
    ((SECONDS - started < 90)) || die "Kafka did not start within 90 s; see $log"
    sleep 0.2
  done
  echo "Kafka $version ready on $advertised:$port in $((SECONDS - started)) s (pid $pid)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    echo "Kafka $version on port $port is not running"
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= 600)); then
      echo "Kafka did not stop within 60 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$pidfile"
  echo "Kafka $version stopped (pid $pid)"
}

run() {
  mkdir -p "$state"
  log=/dev/stdout
  prepare
  java_cmd kafka.Kafka "$props"
  exec "${JAVA[@]}"
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
  status) listening ;;
  tools) tools ;;
  *) die "usage: kafka.sh fetch|start|stop|run|status|tools" ;;
esac

# p7 in one image: a single-node KRaft Kafka broker as the command, and the entry scripts
# (producer, debug, consumer, plot, sink) as standalone binaries in the working directory,
# writing to /files.
#
#   docker build . -t p7
#   docker run -d -v ./files:/files --name=p7 p7
#   docker exec p7 ./producer
#
# Build arguments, for machines where the public images or Deno's `denort` cannot be had
# (the test suite builds with all four; see docker/bases.Dockerfile):
#   MAVEN_IMAGE, NODE_IMAGE, RUNTIME_IMAGE  the three base images
#   BINARIES=compiled   `deno compile` binaries (the default)
#   BINARIES=launchers  scripts running the same entry files with the same permissions under
#                       the pinned Deno, from a module cache filled at build time
ARG MAVEN_IMAGE=maven:3.9-eclipse-temurin-17
ARG NODE_IMAGE=node:24-slim
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre-noble

# The broker's jars, fetched by the same script and pom.xml as on a developer's machine.
FROM ${MAVEN_IMAGE} AS kafka
WORKDIR /p7
COPY kafka/kafka.sh kafka/pom.xml kafka/
ENV P7_KAFKA_HOME=/opt/kafka
RUN bash kafka/kafka.sh fetch

# The binaries, built by the Deno that tools/package.json pins (installed from npm by ./p7).
FROM ${NODE_IMAGE} AS deno
ARG BINARIES=compiled
WORKDIR /p7
COPY p7 deno.json deno.lock producer.ts debug.ts consumer.ts plot.ts sink.ts ./
COPY tools/package.json tools/package-lock.json tools/
COPY lib/ lib/
COPY scripts/launchers.ts scripts/
RUN case "$BINARIES" in compiled) ./p7 compile ;; launchers) ./p7 launchers ;; *) echo "error: BINARIES is compiled or launchers, not \"$BINARIES\"" >&2; exit 2 ;; esac

# glibc, not Alpine: Deno needs it. Java 17 runs the broker.
FROM ${RUNTIME_IMAGE}
WORKDIR /p7
# The broker listens on every interface and advertises localhost, which the binaries use
# inside the container and which `-p 9092:9092` maps on the host.
ENV P7_KAFKA_HOME=/opt/kafka \
    P7_KAFKA_STATE=/var/lib/p7-kafka \
    KAFKA_HOST=0.0.0.0 \
    KAFKA_BROKERS=localhost:9092 \
    P7_FILES=/files
COPY --from=kafka /opt/kafka/jars /opt/kafka/jars
COPY kafka/kafka.sh kafka/pom.xml kafka/
COPY --from=deno /p7/dist/ ./
EXPOSE 9092
HEALTHCHECK --interval=3s --timeout=3s --start-period=60s --retries=3 \
    CMD ["bash", "kafka/kafka.sh", "status"]
# In the foreground, so `docker stop` reaches Java's shutdown hook; storage is formatted on
# the first start only.
CMD ["bash", "kafka/kafka.sh", "run"]
